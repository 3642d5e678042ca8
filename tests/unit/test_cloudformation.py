"""The rendered CloudFormation template matches `chalicelib.topology` and refers only to what exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import topology
from chalicelib.handlers.gateway_errors import GATEWAY_RESPONSES
from infra import cloudformation as cfn
from infra.local.processes import ROOT

STAGE = "dev"
CHALICE_IDS = {"Relay", "Counters", "DeadlineWatch", "ReconcilePayments", "Postal", "APIHandler", "DefaultRole", "RestAPI",
               "Notifications"}
# What `chalice package` names the functions (read from chalice/package.py: `to_cfn_resource_name` of the
# function's name, and the API handler renamed to `APIHandler`).
CHALICE_FUNCTION_IDS = {"api": "APIHandler", "relay": "Relay", "counters": "Counters", "deadline_watch": "DeadlineWatch",
                        "reconcile_payments": "ReconcilePayments", "postal": "Postal", "notifications": "Notifications"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.render(STAGE)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_every_table_with_its_physical_name_and_settings(template: dict[str, Any]) -> None:
    tables = {t["Properties"]["TableName"]: t for t in _of_type(template, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {spec.physical(STAGE) for spec in topology.TABLES}
    for spec in topology.TABLES:
        table = tables[spec.physical(STAGE)]
        props = table["Properties"]
        assert table["DeletionPolicy"] == "Retain"
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == set(
            spec.attributes.items()
        )
        assert props["KeySchema"][0] == {"AttributeName": spec.hash_key, "KeyType": "HASH"}
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {i.name for i in spec.indexes}
        assert all(i["Projection"] == {"ProjectionType": "ALL"} for i in indexes.values())
        if spec.stream_view:
            assert props["StreamSpecification"] == {"StreamViewType": spec.stream_view}
        else:
            assert "StreamSpecification" not in props
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props


def test_every_queue_and_dlq_with_redrive_and_visibility(template: dict[str, Any]) -> None:
    queues = {
        q["Properties"]["QueueName"]: (k, q["Properties"]) for k, q in _of_type(template, "AWS::SQS::Queue").items()
    }
    assert set(queues) == {n for s in topology.QUEUES for n in (s.physical(STAGE), s.dlq_physical(STAGE))}
    consumed = {m.queue for m in topology.QUEUE_MAPPINGS}
    for spec in topology.QUEUES:
        _, props = queues[spec.physical(STAGE)]
        dlq_id, dlq_props = queues[spec.dlq_physical(STAGE)]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert dlq_props["MessageRetentionPeriod"] == spec.dlq_retention_s
        assert props["SqsManagedSseEnabled"] is True and dlq_props["SqsManagedSseEnabled"] is True
        expected = max(spec.visibility_timeout_s, 6 * 30) if spec in consumed else spec.visibility_timeout_s
        assert props["VisibilityTimeout"] == expected


def test_visibility_follows_the_function_timeout() -> None:
    queue = topology.QUEUE_MAPPINGS[0].queue
    queues = _of_type(cfn.render(STAGE, function_timeout_s=120), "AWS::SQS::Queue")
    assert queues[cfn.queue_id(queue)]["Properties"]["VisibilityTimeout"] == 720


def test_every_bucket_is_private_versioned_encrypted_and_kept(template: dict[str, Any]) -> None:
    buckets = {b["Properties"]["BucketName"]: b for b in _of_type(template, "AWS::S3::Bucket").values()}
    assert set(buckets) == {spec.physical(STAGE) for spec in topology.BUCKETS}
    assert topology.DOCUMENTS_BUCKET.physical(STAGE) == "dvc-dev-documents"
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_bus_archive_rules_and_queue_policies(template: dict[str, Any]) -> None:
    (bus_id, bus), = _of_type(template, "AWS::Events::EventBus").items()
    assert bus["Properties"]["Name"] == topology.bus_name(STAGE)
    (archive,) = _of_type(template, "AWS::Events::Archive").values()
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archive["Properties"]["RetentionDays"] == 365

    rules = {r["Properties"]["Name"]: (k, r["Properties"]) for k, r in _of_type(template, "AWS::Events::Rule").items()}
    assert set(rules) == {spec.physical(STAGE) for spec in topology.RULES}
    policies = _of_type(template, "AWS::SQS::QueuePolicy").values()
    for spec in topology.RULES:
        rule_id, props = rules[spec.physical(STAGE)]
        assert _json(props["EventPattern"]) == spec.pattern
        assert props["EventBusName"] == {"Ref": bus_id}
        target_arn = {"Fn::GetAtt": [cfn.queue_id(spec.queue), "Arn"]}
        assert [t["Arn"] for t in props["Targets"]] == [target_arn]
        allowing = [
            s
            for p in policies
            if {"Ref": cfn.queue_id(spec.queue)} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        ]
        assert len(allowing) == 1
        assert allowing[0]["Principal"] == {"Service": "events.amazonaws.com"}
        assert allowing[0]["Action"] == "sqs:SendMessage"
        assert allowing[0]["Resource"] == target_arn


def _mappings(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [m["Properties"] for m in _of_type(template, "AWS::Lambda::EventSourceMapping").values()]


def test_stream_mappings(template: dict[str, Any]) -> None:
    for spec in topology.STREAM_MAPPINGS:
        source = {"Fn::GetAtt": [cfn.table_id(spec.table), "StreamArn"]}
        (props,) = [m for m in _mappings(template) if m["EventSourceArn"] == source]
        assert props["FunctionName"] == {"Ref": CHALICE_FUNCTION_IDS[spec.function]}
        assert props["StartingPosition"] == "TRIM_HORIZON"
        assert props["BatchSize"] == spec.batch_size
        assert props["MaximumRetryAttempts"] == spec.max_retry_attempts
        assert props["BisectBatchOnFunctionError"] is spec.bisect_on_error
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        (pattern,) = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
        assert pattern == spec.filter_pattern
        destination = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": [cfn.queue_id(spec.on_failure), "Arn"]}
        queue = template["Resources"][destination["Fn::GetAtt"][0]]
        assert queue["Properties"]["QueueName"] == spec.on_failure.physical(STAGE)


def test_queue_mappings(template: dict[str, Any]) -> None:
    for spec in topology.QUEUE_MAPPINGS:
        source = {"Fn::GetAtt": [cfn.queue_id(spec.queue), "Arn"]}
        (props,) = [m for m in _mappings(template) if m["EventSourceArn"] == source]
        assert template["Resources"][cfn.queue_id(spec.queue)]["Properties"]["QueueName"] == spec.queue.physical(STAGE)
        assert props["FunctionName"] == {"Ref": CHALICE_FUNCTION_IDS[spec.function]}
        assert props["BatchSize"] == spec.batch_size
        assert props["MaximumBatchingWindowInSeconds"] == spec.batching_window_s
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if spec.batch_size > 10:
            assert spec.batching_window_s >= 1  # SQS mappings above 10 messages need a batching window


def test_mappings_wait_for_the_policy(template: dict[str, Any]) -> None:
    policies = set(_of_type(template, "AWS::IAM::ManagedPolicy"))
    for mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").values():
        assert policies & set(mapping["DependsOn"])


def test_policy_is_attached_to_the_chalice_role_and_covers_the_resources(template: dict[str, Any]) -> None:
    (policy,) = _of_type(template, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["Roles"] == [{"Ref": "DefaultRole"}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    def allowed(action: str) -> list[Any]:
        return [r for s in statements if action in s["Action"] for r in s["Resource"]]

    # One exception, and only for one action: SNS authorises an SMS to a phone number on "*" (a number is no resource).
    assert all(s["Effect"] == "Allow" and ("*" not in s["Resource"] or s["Action"] == ["sns:Publish"]) for s in statements)
    for spec in topology.TABLES:
        assert {"Fn::GetAtt": [cfn.table_id(spec), "Arn"]} in allowed("dynamodb:PutItem")
        if spec.stream_view:
            assert {"Fn::GetAtt": [cfn.table_id(spec), "StreamArn"]} in allowed("dynamodb:GetRecords")
    assert "dynamodb:Scan" not in {a for s in statements for a in s["Action"]}
    assert allowed("events:PutEvents") == [{"Fn::GetAtt": [cfn.BUS_ID, "Arn"]}]
    for mapping in topology.QUEUE_MAPPINGS:
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert {"Fn::GetAtt": [cfn.queue_id(mapping.queue), "Arn"]} in allowed(action)
    assert allowed("sqs:SendMessage") == [
        {"Fn::GetAtt": [cfn.queue_id(q), "Arn"]}
        for q in [m.on_failure for m in topology.STREAM_MAPPINGS] + [s.on_failure for s in topology.SCHEDULES]
        + list(topology.HANDLED_FAILURE_QUEUES)
    ]
    assert allowed("ssm:GetParameter") == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/dvc/{STAGE}/jwt-public-key"}
    ]
    assert {a for s in statements for a in s["Action"] if a.split(":")[0] in {"ssm", "kms"}} == {"ssm:GetParameter"}
    objects = [{"Fn::Sub": f"${{{cfn.bucket_id(b)}.Arn}}/*"} for b in topology.BUCKETS]
    assert allowed("s3:PutObject") == objects
    assert allowed("s3:GetObject") == objects  # HeadObject is authorised by s3:GetObject
    # ListBucket on the bucket itself, so HeadObject of a missing key is a 404 rather than a 403
    assert allowed("s3:ListBucket") == [{"Fn::GetAtt": [cfn.bucket_id(b), "Arn"]} for b in topology.BUCKETS]
    s3_actions = {a for s in statements for a in s["Action"] if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}  # no deletes: documents are records


def test_outputs_name_the_tables_bus_and_queues(template: dict[str, Any]) -> None:
    values = [o["Value"] for o in template["Outputs"].values()]
    for spec in topology.TABLES:
        assert {"Ref": cfn.table_id(spec)} in values
    assert {"Ref": cfn.BUS_ID} in values
    for bucket in topology.BUCKETS:
        assert {"Ref": cfn.bucket_id(bucket)} in values
    for queue in topology.QUEUES:
        assert {"Ref": cfn.queue_id(queue)} in values and {"Ref": cfn.dlq_id(queue)} in values
    assert not set(template["Outputs"]) & {"RestAPIId", "EndpointURL", "APIHandlerName", "APIHandlerArn"}


def test_every_reference_resolves(template: dict[str, Any]) -> None:
    known = set(template["Resources"]) | set(template.get("Parameters", {})) | CHALICE_IDS
    conditions = set(template.get("Conditions", {}))
    referenced: set[str] = set()
    for key, value in _walk(template):
        if key == "Ref" and not value.startswith("AWS::"):
            referenced.add(value)
        elif key == "Fn::GetAtt":
            referenced.add(value[0])
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            names = {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
            referenced |= {name for name in names if not name.startswith("AWS::")}
        elif key == "Fn::If":
            assert value[0] in conditions
        elif key == "DependsOn":
            referenced |= set(value if isinstance(value, list) else [value])
    assert referenced <= known, referenced - known


def test_no_logical_id_replaces_a_chalice_resource(template: dict[str, Any]) -> None:
    """Chalice's resources are only extended, never redefined: the one extension has no Type, only its property."""
    assert set(template["Resources"]) & (CHALICE_IDS | {"APIHandlerInvokePermission"}) == {"RestAPI"}
    assert template["Resources"]["RestAPI"] == {"Properties": {"GatewayResponses": cfn.gateway_responses()}}


def test_gateway_responses_give_api_gateway_errors_the_documented_shape(template: dict[str, Any]) -> None:
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert set(responses) == {row.response_type for row in GATEWAY_RESPONSES}
    assert {"MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for row in GATEWAY_RESPONSES:
        response = responses[row.response_type]
        assert response["ResponseTemplates"] == {"application/json": row.body_json()}
        assert json.loads(response["ResponseTemplates"]["application/json"]) == {
            "error": {"code": row.code, "message": row.message}
        }
        if row.status is None:
            assert "StatusCode" not in response  # DEFAULT_4XX/5XX keep the status API Gateway chose
        else:
            assert response["StatusCode"] == str(row.status)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"  # an unknown route is a 404, not a 403


def test_the_app_has_exactly_the_functions_the_template_knows() -> None:
    from app import app

    scheduled = {source.name for source in app.event_sources}
    assert scheduled == {s.function for s in topology.SCHEDULES}
    assert {f.name for f in app.pure_lambda_functions} | scheduled | {cfn.API_FUNCTION} == set(cfn.functions())
    assert {f: cfn.function_id(f) for f in cfn.functions()} == CHALICE_FUNCTION_IDS
    assert set(CHALICE_FUNCTION_IDS.values()) <= cfn.CHALICE_LOGICAL_IDS
    assert cfn.function_roles() == {f: "DefaultRole" for f in CHALICE_FUNCTION_IDS}


def test_every_schedule_sends_its_failed_runs_to_a_queue(template: dict[str, Any]) -> None:
    configs = _of_type(template, "AWS::Lambda::EventInvokeConfig")
    assert len(configs) == len(topology.SCHEDULES)
    policies = set(_of_type(template, "AWS::IAM::ManagedPolicy"))
    for spec in topology.SCHEDULES:
        config = configs[cfn.invoke_config_id(spec)]
        props = config["Properties"]
        assert props["FunctionName"] == {"Ref": CHALICE_FUNCTION_IDS[spec.function]}
        assert props["Qualifier"] == "$LATEST"
        assert 0 <= props["MaximumRetryAttempts"] == spec.max_retry_attempts <= 2
        assert 60 <= props["MaximumEventAgeInSeconds"] == spec.max_event_age_s <= 21600
        destination = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": [cfn.queue_id(spec.on_failure), "Arn"]}
        queue = template["Resources"][destination["Fn::GetAtt"][0]]
        assert queue["Properties"]["QueueName"] == spec.on_failure.physical(STAGE)
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert policies & set(config["DependsOn"])  # Lambda checks the role may send to the destination
    assert topology.DEADLINE_WATCH_SCHEDULE in topology.SCHEDULES


def test_every_function_has_a_log_group_with_a_retention(template: dict[str, Any]) -> None:
    groups = _of_type(template, "AWS::Logs::LogGroup")
    assert {g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups.values()} == {
        f"/aws/lambda/${{{logical_id}}}" for logical_id in CHALICE_FUNCTION_IDS.values()
    }
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {cfn.LOG_RETENTION_DAYS}
    # Chalice's own log retention would define the same log groups a second time and fail the deployment.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    scopes = [config, *config["stages"].values()]
    scopes += [f for stage in config["stages"].values() for f in stage.get("lambda_functions", {}).values()]
    assert not any("log_retention_in_days" in scope for scope in scopes)


def test_round_trips_through_json(template: dict[str, Any]) -> None:
    assert json.loads(json.dumps(template)) == template


def test_main_writes_the_template(tmp_path: Any) -> None:
    out = tmp_path / "build" / "resources.dev.json"
    cfn.main(["--stage", STAGE, "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == cfn.render(STAGE)
