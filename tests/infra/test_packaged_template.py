"""The template `make package` builds (Chalice's SAM output with our resources merged in) holds what the code uses.

Packages every deployed stage afresh into a temporary directory (`chalice package`, offline: a few seconds each once
Chalice has cached the dependencies), then reads `sam.json` and `deployment.zip` as AWS would receive them.
"""

from __future__ import annotations

import inspect
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import topology
from chalicelib.store import models
from infra import cloudformation as cfn
from infra import package
from tests.policy.iam import role_documents, wildcard_grants

STAGES = package.deployed_stages()
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, package.Package]:
    """Every deployed stage's template (their bundles are the same: only one is finished, by `bundle`)."""
    root = tmp_path_factory.mktemp("packaged")
    return {stage: package.build(stage, out=root / stage, finish=False) for stage in STAGES}


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package.build(STAGES[-1], out=tmp_path_factory.mktemp("bundle") / STAGES[-1]).bundle


@pytest.fixture(scope="session", params=STAGES)
def stage(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sam(packaged: dict[str, package.Package], stage: str) -> dict[str, Any]:
    return dict(json.loads(packaged[stage].template.read_text(encoding="utf-8")))


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def _arn(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def _model_tables() -> Iterator[tuple[type[Model], topology.TableSpec]]:
    defined = {m for _, m in inspect.getmembers(models, inspect.isclass) if issubclass(m, Model) and m is not Model}
    assert defined == set(models._TABLE_OF), "a model the stage binding does not know"
    yield from models._TABLE_OF.items()


def test_the_package_is_a_sam_template_with_every_function(sam: dict[str, Any], stage: str) -> None:
    assert sam["Transform"] == "AWS::Serverless-2016-10-31"
    functions = _of_type(sam, SERVERLESS_FUNCTION)
    assert set(functions) == {cfn.function_id(f) for f in cfn.functions()}
    limits = cfn.function_limits(stage)
    for function in cfn.functions():
        props = functions[cfn.function_id(function)]["Properties"]
        assert props["CodeUri"] == "./deployment.zip"
        assert props["Timeout"] == limits[function].timeout_s
        assert props["ReservedConcurrentExecutions"] == limits[function].reserved_concurrency
        assert props["Tracing"] == "Active"
        assert props["Role"] == _arn(cfn.role_id(function))  # a role of its own


def test_every_table_and_every_index_the_code_uses(sam: dict[str, Any], stage: str) -> None:
    tables = {t["Properties"]["TableName"]: t["Properties"] for t in _of_type(sam, "AWS::DynamoDB::Table").values()}
    for spec in topology.TABLES:
        props = tables[spec.physical(stage)]
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == {i.name for i in spec.indexes}
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        if spec.stream_view:
            assert props["StreamSpecification"] == {"StreamViewType": spec.stream_view}
    for model, spec in _model_tables():  # the pynamodb models' own tables and indexes, as the code queries them
        indexes = [i for _, i in inspect.getmembers(model, lambda v: isinstance(v, GlobalSecondaryIndex))]
        declared = {i["IndexName"] for i in tables[spec.physical(stage)].get("GlobalSecondaryIndexes", [])}
        assert {i.Meta.index_name for i in indexes} <= declared, model.__name__


def test_every_event_pattern_routes_to_its_queue_with_a_dead_letter_queue(sam: dict[str, Any], stage: str) -> None:
    rules = {r["Properties"]["Name"]: r["Properties"] for r in _of_type(sam, "AWS::Events::Rule").values()}
    (bus_id,) = _of_type(sam, "AWS::Events::EventBus")
    for spec in topology.RULES:
        props = rules[spec.physical(stage)]
        pattern = props["EventPattern"]
        assert (json.loads(pattern) if isinstance(pattern, str) else pattern) == spec.pattern
        assert props["EventBusName"] == {"Ref": bus_id}
        (target,) = props["Targets"]
        assert target["Arn"] == _arn(cfn.queue_id(spec.queue))
        assert target["DeadLetterConfig"] == {"Arn": _arn(cfn.queue_id(topology.UNDELIVERED_EVENTS))}
    for schedule in topology.SCHEDULES:  # the rule SAM makes for each schedule has the same dead-letter queue
        events = sam["Resources"][cfn.function_id(schedule.function)]["Properties"]["Events"]
        event = events[cfn.schedule_event_id(schedule)]
        assert event["Type"] == "Schedule"
        assert event["Properties"]["DeadLetterConfig"] == {"Arn": _arn(cfn.queue_id(topology.UNDELIVERED_EVENTS))}


def test_every_queue_has_its_dead_letter_queue_and_redrive(sam: dict[str, Any], stage: str) -> None:
    queues = {q["Properties"]["QueueName"]: (k, q["Properties"]) for k, q in _of_type(sam, "AWS::SQS::Queue").items()}
    for spec in topology.QUEUES:
        _, props = queues[spec.physical(stage)]
        dlq_id, _ = queues[spec.dlq_physical(stage)]
        assert props["RedrivePolicy"] == {"deadLetterTargetArn": _arn(dlq_id), "maxReceiveCount": spec.max_receive_count}
    limits = cfn.function_limits(stage)
    for mapping in topology.QUEUE_MAPPINGS:  # hidden long enough for the consumer's retries within its timeout
        _, props = queues[mapping.queue.physical(stage)]
        assert props["VisibilityTimeout"] >= 6 * limits[mapping.function].timeout_s


def test_every_mapping_reports_batch_item_failures(sam: dict[str, Any]) -> None:
    mappings = [m["Properties"] for m in _of_type(sam, "AWS::Lambda::EventSourceMapping").values()]
    functions = _of_type(sam, SERVERLESS_FUNCTION)

    def mapping_of(function: str, source: dict[str, Any]) -> dict[str, Any]:
        (found,) = [m for m in mappings if m["EventSourceArn"] == source]
        assert found["FunctionName"] == {"Ref": cfn.function_id(function)} and cfn.function_id(function) in functions
        assert found["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        return found

    for stream in topology.STREAM_MAPPINGS:
        found = mapping_of(stream.function, _arn(cfn.table_id(stream.table), "StreamArn"))
        assert found["DestinationConfig"]["OnFailure"]["Destination"] == _arn(cfn.queue_id(stream.on_failure))
    for queue in topology.QUEUE_MAPPINGS:
        mapping_of(queue.function, _arn(cfn.queue_id(queue.queue)))
    assert len(mappings) == len(topology.STREAM_MAPPINGS) + len(topology.QUEUE_MAPPINGS)


def test_no_lambda_role_grants_a_wildcard_resource_on_dynamodb_events_or_sqs(sam: dict[str, Any]) -> None:
    roles = {f: role for f, role in cfn.function_roles().items()}
    assert set(roles.values()) <= set(_of_type(sam, "AWS::IAM::Role"))
    sms = []
    for function, role in roles.items():
        documents = role_documents(sam, role)  # the role's own inline policy and the managed policy attached to it
        assert len(documents) == 2, function
        statements = [s for d in documents for s in d["Statement"]]
        assert not wildcard_grants(statements), function
        everything = [s for s in statements if "*" in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
        assert {a for s in everything for a in s["Action"]} <= {"sns:Publish", "xray:PutTraceSegments",
                                                                 "xray:PutTelemetryRecords"}, function
        sms += [function for s in everything if "sns:Publish" in s["Action"]]
    assert sms == [topology.NOTIFICATIONS_MAPPING.function]  # SMS to a phone number names no resource: that role only
    assert "DefaultRole" not in sam["Resources"]  # Chalice's shared role is gone


def test_the_bundle_holds_the_app_and_leaves_the_runtime_sdk_out(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zipped:
        names = zipped.namelist()
        unzipped = sum(i.file_size for i in zipped.infolist())
    top = {Path(n).parts[0] for n in names}
    assert {"app.py", "chalicelib", "chalice", "pynamodb", "aws_lambda_powertools", "jsonschema"} <= top
    assert not {t for t in top if t.split("-")[0] in package.RUNTIME_PROVIDED}
    assert "chalicelib/schemas/dossier-change.v1.json" in names  # data files ship with the code
    # compiled for the runtime's Python, so a cold start on a read-only task directory does not compile the app
    assert f"chalicelib/__pycache__/bootstrap.{sys.implementation.cache_tag}.pyc" in names
    assert unzipped < 250 * 2**20 and bundle.stat().st_size < 50 * 2**20  # Lambda's limits for a zip upload
