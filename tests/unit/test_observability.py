"""The alarms, their topic and the dashboard (`infra/observability.py`, `dashboard.py`, `watched.py`) watch exactly
what exists: every function, table and queue has its alarms, and every metric they read is one the code emits or one
AWS documents, with the dimensions it has."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.constants import XRAY_POLICY

from chalicelib import metric_names, topology
from infra import cloudformation as cfn
from infra import dashboard as dashboard_module
from infra import observability as obs
from infra import watched
from infra.local.processes import ROOT

STAGE = "prod"
TOPIC = {"Fn::If": [obs.CREATE_ALARM_TOPIC, {"Ref": obs.ALARM_TOPIC_ID}, {"Ref": obs.ALARM_TOPIC_PARAMETER}]}
# AWS's metrics as its documentation names them, with their dimensions (CloudWatch User Guide, "AWS services that
# publish CloudWatch metrics"): written out here, apart from the module, so a misspelt name cannot pass.
DOCUMENTED = {
    ("AWS/Lambda", "Errors"): {"FunctionName"}, ("AWS/Lambda", "Throttles"): {"FunctionName"},
    ("AWS/Lambda", "IteratorAge"): {"FunctionName"}, ("AWS/Lambda", "Duration"): {"FunctionName"},
    ("AWS/Lambda", "Invocations"): {"FunctionName"},
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {"QueueName"},
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"): {"QueueName"},
    ("AWS/ApiGateway", "5XXError"): {"ApiName", "Stage"}, ("AWS/ApiGateway", "4XXError"): {"ApiName", "Stage"},
    ("AWS/ApiGateway", "Latency"): {"ApiName", "Stage"}, ("AWS/ApiGateway", "Count"): {"ApiName", "Stage"},
    ("AWS/DynamoDB", "ThrottledRequests"): {"TableName", "Operation"},
    ("AWS/DynamoDB", "SystemErrors"): {"TableName", "Operation"},
}
OURS = {(m.namespace, m.name): set(m.dimensions) for m in metric_names.EMITTED}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.render(STAGE)


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v.get("Type") == "AWS::CloudWatch::Alarm"}


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics one alarm reads: its own, or each of its expression's inputs."""
    if "MetricName" in alarm:
        return [{k: alarm[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    return [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]


def _dims(metric: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in metric["Dimensions"]}


def _watching(alarms: dict[str, dict[str, Any]], name: str) -> dict[str, list[dict[str, Any]]]:
    return {k: _alarm_metrics(a) for k, a in alarms.items() if any(m["MetricName"] == name for m in _alarm_metrics(a))}


def test_every_alarm_reads_metrics_the_code_emits_or_aws_documents(alarms: dict[str, dict[str, Any]]) -> None:
    for logical_id, alarm in alarms.items():
        for metric in _alarm_metrics(alarm):
            key = (metric["Namespace"], metric["MetricName"])
            assert key in DOCUMENTED or key in OURS, (logical_id, key)
            assert set(_dims(metric)) == (DOCUMENTED | OURS)[key], (logical_id, key)  # a metric exists per dimension set
            if key in OURS:
                assert _dims(metric)["stage"] == STAGE


def test_every_function_has_error_and_throttle_alarms_and_the_relay_one_on_its_stream(
        alarms: dict[str, dict[str, Any]]) -> None:
    for kind in ("Errors", "Throttles"):
        watched = {_dims(m)["FunctionName"]["Ref"] for ms in _watching(alarms, kind).values() for m in ms}
        assert watched == {cfn.function_id(f) for f in cfn.functions()}
    (age,) = _watching(alarms, "IteratorAge").values()
    assert _dims(age[0])["FunctionName"] == {"Ref": cfn.function_id(topology.RELAY_MAPPING.function)}


def test_every_failure_queue_alarms_when_not_empty_and_every_consumed_queue_when_behind(
        alarms: dict[str, dict[str, Any]]) -> None:
    def watched(metric: str) -> dict[str, dict[str, Any]]:
        return {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a for a in alarms.values()
                if a.get("MetricName") == metric and a["Namespace"] == "AWS/SQS"}

    visible = watched("ApproximateNumberOfMessagesVisible")
    assert set(visible) == set(cfn.failure_queues(STAGE))
    for spec in topology.QUEUES:
        alarm = visible[cfn.dlq_id(spec)]
        assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    for stream_mapping in topology.STREAM_MAPPINGS:
        assert cfn.queue_id(stream_mapping.on_failure) in visible  # where failed stream batches land
    for schedule in topology.SCHEDULES:
        assert cfn.queue_id(schedule.on_failure) in visible  # where failed scheduled runs land
    age = watched("ApproximateAgeOfOldestMessage")
    assert set(age) == {cfn.queue_id(m.queue) for m in topology.QUEUE_MAPPINGS}
    assert age[cfn.queue_id(topology.COUNTERS_QUEUE)]["Threshold"] == 300


def test_every_table_alarms_on_throttling_and_system_errors_over_every_operation_the_code_calls(
        alarms: dict[str, dict[str, Any]]) -> None:
    for kind in ("ThrottledRequests", "SystemErrors"):
        by_table: dict[str, set[str]] = {}
        for logical_id, metrics in _watching(alarms, kind).items():
            expression = next(q for q in alarms[logical_id]["Metrics"] if q.get("ReturnData"))
            assert expression["Expression"] == "+".join(q["Id"] for q in alarms[logical_id]["Metrics"][:-1])
            assert len(alarms[logical_id]["Metrics"]) <= 20 and len(metrics) <= 10  # CloudWatch's limits
            for metric in metrics:
                by_table.setdefault(_dims(metric)["TableName"], set()).add(_dims(metric)["Operation"])
        assert by_table == {t.physical(STAGE): set(watched.DYNAMODB_OPERATIONS) for t in topology.TABLES}


def test_the_api_alarms_name_the_api_as_chalice_deploys_it(alarms: dict[str, dict[str, Any]]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    expected = {"ApiName": config["app_name"], "Stage": config["stages"][STAGE]["api_gateway_stage"]}
    for name in ("5XXError", "Latency"):
        (metrics,) = _watching(alarms, name).values()
        assert _dims(metrics[0]) == expected
    latency = next(a for a in alarms.values() if a.get("MetricName") == "Latency")
    assert latency["ExtendedStatistic"] == "p95" and "Statistic" not in latency


def test_payments_pending_too_long_alarms_on_the_metric_reconciliation_emits(alarms: dict[str, dict[str, Any]]) -> None:
    (metrics,) = _watching(alarms, metric_names.PAYMENTS_PENDING_TOO_LONG.name).values()
    assert metrics[0]["Namespace"] == metric_names.OPERATIONS_NAMESPACE


def test_every_alarm_notifies_the_topic_with_a_name_and_text_an_administrator_reads(
        alarms: dict[str, dict[str, Any]]) -> None:
    names = [a["AlarmName"] for a in alarms.values()]
    assert len(names) == len(set(names))
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC]
        assert alarm["AlarmName"].startswith(f"dvc-{STAGE}-") and len(alarm["AlarmName"]) <= 255
        assert 40 <= len(alarm["AlarmDescription"]) <= 1024
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_topic_is_the_stacks_own_unless_one_is_passed_and_an_email_may_subscribe(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    topic, subscription = resources[obs.ALARM_TOPIC_ID], resources[obs.ALARM_SUBSCRIPTION_ID]
    assert topic["Condition"] == obs.CREATE_ALARM_TOPIC
    assert template["Conditions"][obs.CREATE_ALARM_TOPIC] == {"Fn::Equals": [{"Ref": obs.ALARM_TOPIC_PARAMETER}, ""]}
    assert topic["Properties"]["TopicName"] == f"dvc-{STAGE}-alarms"
    assert subscription["Condition"] == obs.HAS_ALARM_EMAIL
    assert subscription["Properties"] == {"TopicArn": TOPIC, "Protocol": "email",
                                          "Endpoint": {"Ref": obs.ALARM_EMAIL_PARAMETER}}
    assert {p["Default"] for p in template["Parameters"].values()} == {""}


# --- the dashboard ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body = template["Resources"][dashboard_module.DASHBOARD_ID]["Properties"]["DashboardBody"]["Fn::Sub"]
    return body, json.loads(body)


def _rows(body: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    for widget in body["widgets"]:
        if widget["type"] == "metric":
            for row in widget["properties"]["metrics"]:
                yield widget, row


def _metric(row: list[Any]) -> tuple[tuple[str, str], dict[str, str]] | None:
    """(namespace, name) and dimensions of a metric row; None for an expression row."""
    plain = [x for x in row if not isinstance(x, dict)]
    if not plain:
        return None
    namespace, name, *pairs = plain
    return (namespace, name), dict(zip(pairs[::2], pairs[1::2], strict=True))


def test_the_dashboard_shows_every_metric_the_code_emits_and_only_real_metrics(
        dashboard: tuple[str, dict[str, Any]]) -> None:
    _, body = dashboard
    shown: set[tuple[str, str]] = set()
    for _, row in _rows(body):
        found = _metric(row)
        if found is None:
            continue
        key, dims = found
        assert key in DOCUMENTED or key in OURS, key
        assert set(dims) == (DOCUMENTED | OURS)[key], key
        if key in OURS:
            assert dims["stage"] == STAGE and dims.get("tier", "commune") in metric_names.TIERS
        shown.add(key)
    assert set(OURS) <= shown  # nothing emitted goes unseen


def test_the_compliance_shares_divide_the_right_figures_for_each_tier(dashboard: tuple[str, dict[str, Any]]) -> None:
    _, body = dashboard
    shares = [w for w in body["widgets"] if w["type"] == "metric" and w["properties"]["view"] == "singleValue"]
    online = next(w for w in shares if w["properties"]["title"].startswith("Filed online"))
    rows = online["properties"]["metrics"]
    ids = {row[-1]["id"]: _metric(row) for row in rows if _metric(row)}
    expressions = [row[0] for row in rows if _metric(row) is None]
    assert len(expressions) == len(metric_names.TIERS)
    for expression in expressions:
        part, whole = re.fullmatch(r"100\*(\w+)/\((\w+)\)", expression["expression"]).groups()  # type: ignore[union-attr]
        (part_key, part_dims), (whole_key, whole_dims) = ids[part], ids[whole]  # type: ignore[misc]
        assert (part_key[1], whole_key[1]) == ("DossiersFiledOnline", "DossiersFiled")
        assert part_dims["tier"] == whole_dims["tier"] and part_dims["tier"] in expression["label"]


def test_every_expression_reads_ids_of_its_own_widget(dashboard: tuple[str, dict[str, Any]]) -> None:
    _, body = dashboard
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        rows = widget["properties"]["metrics"]
        ids = {row[-1]["id"] for row in rows if isinstance(row[-1], dict) and "id" in row[-1]}
        for row in rows:
            if _metric(row) is None:
                assert set(re.findall(r"[a-z][a-z0-9_]*", row[0]["expression"])) <= ids


def test_the_dashboard_covers_every_function_and_queue(dashboard: tuple[str, dict[str, Any]]) -> None:
    _, body = dashboard
    dims = [found[1] for _, row in _rows(body) if (found := _metric(row))]
    assert {d["FunctionName"] for d in dims if "FunctionName" in d} == {f"${{{cfn.function_id(f)}}}"
                                                                         for f in cfn.functions()}
    queues = {d["QueueName"] for d in dims if "QueueName" in d}
    assert queues == {f"${{{q}.QueueName}}" for q in cfn.failure_queues(STAGE)} | {
        f"${{{cfn.queue_id(m.queue)}.QueueName}}" for m in topology.QUEUE_MAPPINGS}
    assert {d["TableName"] for d in dims if "TableName" in d} == {t.physical(STAGE) for t in topology.TABLES}


def test_every_substitution_in_the_dashboard_names_a_resource_of_the_template(
        template: dict[str, Any], dashboard: tuple[str, dict[str, Any]]) -> None:
    text, _ = dashboard
    names = set(re.findall(r"\$\{([^}]+)\}", text))
    assert names
    for name in names:
        logical_id = name.split(".")[0]
        assert name == "AWS::Region" or logical_id in template["Resources"] or logical_id in cfn.CHALICE_LOGICAL_IDS


def test_the_dashboard_fits_cloudwatchs_limits(dashboard: tuple[str, dict[str, Any]]) -> None:
    text, body = dashboard
    assert len(text.encode("utf-8")) < 100_000  # the largest dashboard body CloudWatch takes (about 1 MB today)
    assert all(len(w["properties"]["metrics"]) <= 500 for w in body["widgets"] if w["type"] == "metric")


# --- the code emits what is watched --------------------------------------------------------------------------------


def _emitted_by_handlers() -> set[str]:
    """The `metric_names` constants passed to `emit` anywhere in the handlers."""
    found: set[str] = set()
    for path in sorted((ROOT / "chalicelib" / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "emit":
                first = node.args[0]
                if isinstance(first, ast.Name):
                    found.add(first.id)
                elif isinstance(first, ast.Subscript) and isinstance(first.value, ast.Name):
                    found.add(first.value.id)  # COMPLIANCE[figure]
    return found


def test_every_metric_named_is_emitted_somewhere() -> None:
    constants = {name for name, value in vars(metric_names).items() if value in metric_names.OPERATIONS}
    assert _emitted_by_handlers() == constants | {"COMPLIANCE"}


def test_the_functions_send_traces_and_may() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    assert config["xray"] is True and not any("xray" in stage for stage in config["stages"].values())
    if config.get("autogen_policy", True):
        statements = [XRAY_POLICY]  # what Chalice appends to the policy it generates when `xray` is on
    else:  # each role's inline policy is the policy file's
        statements = json.loads((ROOT / ".chalice" / config["iam_policy_file"]).read_text(encoding="utf-8"))["Statement"]
    assert any({"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(s["Action"]) and s["Resource"] == "*"
               for s in statements)


def test_the_saved_log_queries_read_every_functions_log_group(template: dict[str, Any]) -> None:
    queries = {k: v["Properties"] for k, v in template["Resources"].items() if v.get("Type") == "AWS::Logs::QueryDefinition"}
    assert {q["Name"] for q in queries.values()} == {f"dvc-{STAGE}/{name}" for name in obs.QUERIES}
    for query in queries.values():
        groups = {g["Ref"] for g in query["LogGroupNames"]}
        assert groups == {cfn.log_group_id(f) for f in cfn.functions()} and groups <= set(template["Resources"])
    # the fields they filter on are the ones the logger writes
    assert "correlation_id" in obs.QUERIES["by-correlation-id"] and "level" in obs.QUERIES["errors"]


def test_a_misspelt_aws_metric_cannot_be_rendered() -> None:
    with pytest.raises(ValueError, match="not a metric AWS documents"):
        watched.Watch("AWS/ApiGateway", "5xxError", (("ApiName", "dvc-cloud"), ("Stage", "prod")))
    with pytest.raises(ValueError, match="not a metric AWS documents"):
        watched.Watch("AWS/DynamoDB", "SystemErrors", (("TableName", "dvc-prod-dossiers"),))  # only per operation
