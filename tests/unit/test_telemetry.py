"""Every entry point's telemetry: the correlation id on every log line, masked lines, traces, emitted metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice.app import BadRequestError, CloudWatchEvent, LambdaFunctionEvent, Request
from chalice.test import Client

from app import app
from chalicelib import metric_names
from chalicelib.bootstrap import container
from chalicelib.handlers import telemetry
from chalicelib.handlers.telemetry import (
    InvocationError,
    adopt_library_loggers,
    client_correlation_id,
    correlation,
    emit,
    logger,
    observe,
    tracing_on,
)
from chalicelib.redaction import EMAIL_MASK, NATIONAL_ID_MASK, PHONE_MASK


def _request(headers: dict[str, str], request_id: str | None = "gw-req-1") -> Request:
    context: dict[str, Any] = {"httpMethod": "GET", "resourcePath": "/v1/dossiers"}
    if request_id:
        context["requestId"] = request_id
    return Request({"multiValueQueryStringParameters": None, "headers": headers, "pathParameters": None,
                    "requestContext": context, "body": None, "isBase64Encoded": False, "stageVariables": None})


def _sqs(*bodies: str) -> LambdaFunctionEvent:
    records = [{"messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]
    return LambdaFunctionEvent({"Records": records}, None)


def _bus_body(event_id: str) -> str:
    return json.dumps({"id": "bus-1", "detail-type": "DossierSubmitted", "detail": {"event_id": event_id}})


@pytest.mark.parametrize(("sent", "kept"), [
    ("mobile-7f3a9c", True),
    ("0b9c7d1e-5a2f-4c3b-9d8e-1f2a3b4c5d6e", True),
    ("app:ios/2.3.1+build=77", True),
    ("", False),
    ("has space", False),
    ("x" * 129, False),  # bounded
    ("id\nforged-log-line", False),  # no line breaks or controls
    ("0912345678", False),  # a phone number sent as an id would be logged as it is: refused
    ("hoa@example.vn", False),
    ("Nguyễn", False),  # ASCII only
])
def test_a_client_correlation_id_is_used_only_if_it_is_safe_to_log(sent: str, kept: bool) -> None:
    assert client_correlation_id(sent) == (sent if kept else None)
    cid, extra = correlation(_request({"X-Correlation-Id": sent}))
    assert (cid, extra) == ((sent, {"api_request_id": "gw-req-1"}) if kept else ("gw-req-1", {}))


def test_http_falls_back_to_api_gateways_request_id_then_to_a_fresh_one() -> None:
    assert correlation(_request({})) == ("gw-req-1", {})
    assert correlation(_request({"x-request-id": "from-proxy-1"}))[0] == "from-proxy-1"
    fresh, _ = correlation(_request({}, request_id=None))
    assert len(fresh) == 36 and fresh != correlation(_request({}, request_id=None))[0]


def test_every_http_answer_says_its_correlation_id_refusals_included(capsys: pytest.CaptureFixture[str]) -> None:
    with Client(app) as client:
        ok = client.http.get("/v1/health", headers={"X-Correlation-Id": "mobile-7f3a9c"})
        phone = client.http.get("/v1/health", headers={"X-Correlation-Id": "0912345678"})
        refused = client.http.post("/v1/dossiers", body=b"{}", headers={"content-type": "application/json",
                                                                        "Idempotency-Key": "a b"})
    assert ok.status_code == 200 and ok.headers["X-Correlation-Id"] == "mobile-7f3a9c"
    assert phone.headers["X-Correlation-Id"] != "0912345678" and len(phone.headers["X-Correlation-Id"]) == 36
    assert refused.status_code == 400 and len(refused.headers["X-Correlation-Id"]) == 36


def test_a_batch_of_one_event_takes_the_domain_events_id_as_every_function_sees_it() -> None:
    stream = LambdaFunctionEvent({"Records": [{"eventID": "shard-1", "dynamodb": {"NewImage": {
        "kind": {"S": "outbox"}, "event_id": {"S": "ev-42"}}}}]}, None)
    assert correlation(stream, "inv-1") == ("ev-42", {})  # the relay
    assert correlation(_sqs(_bus_body("ev-42")), "inv-2") == ("ev-42", {})  # and a consumer of the same event


def test_a_larger_batch_takes_the_invocations_id_and_lists_its_events() -> None:
    cid, extra = correlation(_sqs(_bus_body("ev-1"), "not json", _bus_body("ev-3")), "inv-9")
    assert cid == "inv-9"
    assert extra == {"event_ids": ["ev-1", "m1", "ev-3"], "records": 3}  # an unreadable message by its id
    assert correlation(LambdaFunctionEvent({"Records": []}, None), "inv-3") == ("inv-3", {})  # nothing to list


def test_a_schedule_takes_its_eventbridge_event_id() -> None:
    event = CloudWatchEvent({"version": "0", "account": "111122223333", "region": "ap-southeast-1", "detail": {},
                             "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-26T00:00:00Z",
                             "id": "cw-77", "resources": []}, None)
    assert correlation(event) == ("cw-77", {})


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def _ours(lines: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """The lines this test wrote: in a full run the local stack's pollers log from their threads meanwhile."""
    return [line for line in lines if marker in json.dumps(line, ensure_ascii=False)]


def test_every_line_of_an_invocation_carries_its_id_and_no_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Any) -> str:
        logger.info("gửi SMS tới 0912 345 678", extra={"dossier": "H46.C19900-251126-0001"})
        return "ok"

    capsys.readouterr()
    assert observe(_sqs(_bus_body("ev-tl-1"), _bus_body("ev-tl-2")), handler, None) == "ok"
    lines = _lines(capsys)
    (first,) = _ours(lines, "ev-tl-1")
    (line,) = _ours(lines, "H46.C19900-251126-0001")
    assert first["message"] == "invoked" and first["event_ids"] == ["ev-tl-1", "ev-tl-2"]
    assert line["message"] == f"gửi SMS tới {PHONE_MASK}" and line["dossier"] == "H46.C19900-251126-0001"
    assert first["correlation_id"] == line["correlation_id"] and len(line["correlation_id"]) == 36
    logger.info("after-tl-1")
    (after,) = _ours(_lines(capsys), "after-tl-1")
    assert "correlation_id" not in after  # the keys end with the invocation


def test_a_failed_invocation_is_logged_masked_and_lambda_sees_only_a_masked_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Any) -> str:
        raise RuntimeError("no dossier for CCCD 046190000123")

    capsys.readouterr()
    with pytest.raises(InvocationError) as raised:
        observe(_sqs(_bus_body("ev-tl-5")), handler, None)
    # what Lambda's runtime would write to the log on its own: no personal data, no chained original
    assert str(raised.value) == f"RuntimeError: no dossier for CCCD {NATIONAL_ID_MASK}"
    assert raised.value.__suppress_context__ and raised.value.__cause__ is None
    (failed,) = _ours(_lines(capsys), "ev-tl-5")
    assert failed["message"] == "invocation failed" and failed["correlation_id"] == "ev-tl-5"
    assert "046190000123" not in json.dumps(failed) and "Traceback" in failed["exception"]
    logger.info("after-tl-5")
    (after,) = _ours(_lines(capsys), "after-tl-5")
    assert "correlation_id" not in after  # the keys end with the invocation, failed or not


def test_an_http_error_reaches_chalice_as_it_was_raised() -> None:
    def view(event: Any) -> str:
        raise BadRequestError("nope")  # Chalice answers it 400: it must not become a 500

    with pytest.raises(BadRequestError):
        observe(_request({}), view, None)


@dataclass
class FakeSubsegment:
    name: str
    annotations: dict[str, Any] = field(default_factory=dict)

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value


@dataclass
class FakeRecorder:
    """Stands in for the X-Ray recorder: the subsegments opened, with their annotations."""

    opened: list[FakeSubsegment] = field(default_factory=list)

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[FakeSubsegment]:
        segment = FakeSubsegment(name)
        self.opened.append(segment)
        yield segment


def test_a_traced_invocation_is_one_subsegment_annotated_with_its_correlation_id() -> None:
    recorder = FakeRecorder()
    assert observe(_sqs(_bus_body("ev-8")), lambda event: 7, recorder) == 7
    (segment,) = recorder.opened
    assert segment.annotations["CorrelationId"] == "ev-8" and isinstance(segment.annotations["ColdStart"], bool)


@pytest.mark.parametrize(("env", "on"), [
    ({}, False),  # not in Lambda: no daemon to send to
    ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),  # chalice local
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
])
def test_tracing_is_on_only_in_lambda(env: dict[str, str], on: bool) -> None:
    assert tracing_on(env) is on


def test_a_librarys_logger_writes_masked_json_once_adopted(capsys: pytest.CaptureFixture[str]) -> None:
    library = logging.getLogger("dvc_test_library")  # stands for botocore, pynamodb, urllib3
    adopt_library_loggers(include={"dvc_test_library"})
    capsys.readouterr()
    library.warning("retrying request for %s", "hoa.nguyen@gmail.com")
    (line,) = _ours(_lines(capsys), "retrying request for")
    assert (line["level"], line["message"]) == ("WARNING", f"retrying request for {EMAIL_MASK}")
    assert "name" not in line  # Powertools' `name` key is taken out again: a field of that name is masked


def test_tests_never_load_the_xray_sdk() -> None:
    assert telemetry.tracer() is None


def _emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [line for line in _lines(capsys) if "_aws" in line]


def test_emit_sends_the_metric_with_its_namespace_stage_and_dimensions(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "dvc-cloud")  # as on every deployed function
    capsys.readouterr()
    emit(metric_names.PAYMENTS_PENDING_TOO_LONG, 3)
    emit(metric_names.COMPLIANCE[metric_names.Headline.DOSSIERS_FILED], 2, tier="commune")
    emitted = _emitted(capsys)
    (pending,) = [m for m in emitted if m.get("PaymentsPendingTooLong") == [3.0]]
    (filed,) = [m for m in emitted if m.get("DossiersFiled") == [2.0] and m.get("tier") == "commune"]
    (pending_meta,) = pending["_aws"]["CloudWatchMetrics"]
    assert pending_meta["Namespace"] == metric_names.OPERATIONS_NAMESPACE
    assert pending_meta["Dimensions"] == [["stage"]] and pending["stage"] == container().settings.stage
    assert pending["PaymentsPendingTooLong"] == [3.0]
    assert filed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == metric_names.COMPLIANCE_NAMESPACE
    # exactly the dimensions the alarms and the dashboard read: no `service` beside them
    assert sorted(filed["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["stage", "tier"]
    assert [set(d) for d in filed["_aws"]["CloudWatchMetrics"][0]["Dimensions"]] == [{"stage", "tier"}]


def test_emit_refuses_dimensions_the_metric_does_not_declare(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="tier"):
        emit(metric_names.COMPLIANCE[metric_names.Headline.DOSSIERS_FILED], 1)  # the dashboard reads it by tier
    with pytest.raises(ValueError, match="agency"):
        emit(metric_names.EVENTS_RELAYED, 1, agency="H46")


def test_metrics_are_off_in_test_runs(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    emit(metric_names.EVENTS_RELAYED, 5)
    assert [m for m in _emitted(capsys) if m.get("EventsRelayed") == [5.0]] == []


def test_every_compliance_figure_has_a_metric_and_no_name_is_emitted_twice() -> None:
    assert set(metric_names.COMPLIANCE) == set(metric_names.Headline)
    names = [(m.namespace, m.name) for m in metric_names.EMITTED]
    assert len(names) == len(set(names))
