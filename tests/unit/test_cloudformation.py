"""The rendered CloudFormation template matches `chalicelib.topology` and refers only to what exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import topology
from chalicelib.handlers.gateway_errors import GATEWAY_RESPONSES
from infra import access, identity
from infra import cloudformation as cfn
from infra.local.processes import ROOT
from tests.policy.iam import wildcard_grants

STAGE = "dev"
CHALICE_IDS = {"Relay", "Counters", "DeadlineWatch", "ReconcilePayments", "Postal", "APIHandler", "RestAPI",
               "Notifications", "RebuildCounters", "RelayRole", "CountersRole", "DeadlineWatchRole",
               "ReconcilePaymentsRole", "PostalRole", "ApiHandlerRole", "NotificationsRole", "RebuildCountersRole"}
# What `chalice package` names the functions (read from chalice/package.py: `to_cfn_resource_name` of the
# function's name, and the API handler renamed to `APIHandler`).
CHALICE_FUNCTION_IDS = {"api": "APIHandler", "relay": "Relay", "counters": "Counters", "deadline_watch": "DeadlineWatch",
                        "reconcile_payments": "ReconcilePayments", "postal": "Postal", "notifications": "Notifications",
                        "rebuild_counters": "RebuildCounters"}


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
    limits = cfn.function_limits(STAGE)
    consumer_timeout = {m.queue: limits[m.function].timeout_s for m in topology.QUEUE_MAPPINGS}
    for spec in topology.QUEUES:
        _, props = queues[spec.physical(STAGE)]
        dlq_id, dlq_props = queues[spec.dlq_physical(STAGE)]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert dlq_props["MessageRetentionPeriod"] == spec.dlq_retention_s
        assert props["SqsManagedSseEnabled"] is True and dlq_props["SqsManagedSseEnabled"] is True
        expected = max(spec.visibility_timeout_s, 6 * consumer_timeout.get(spec, 0))
        assert props["VisibilityTimeout"] == expected


def test_visibility_follows_the_consuming_function_timeout_in_the_stage_config() -> None:
    mapping = topology.QUEUE_MAPPINGS[0]
    config = {"lambda_timeout": 20, "stages": {STAGE: {"lambda_functions": {mapping.function: {"lambda_timeout": 120}}}}}
    limits = cfn.function_limits(STAGE, config)
    assert limits[mapping.function].timeout_s == 120 and limits[cfn.API_FUNCTION].timeout_s == 20
    queues = _of_type(cfn.render(STAGE, limits=limits), "AWS::SQS::Queue")
    assert queues[cfn.queue_id(mapping.queue)]["Properties"]["VisibilityTimeout"] == 720
    other = next(m.queue for m in topology.QUEUE_MAPPINGS if m.function != mapping.function)
    assert queues[cfn.queue_id(other)]["Properties"]["VisibilityTimeout"] == max(other.visibility_timeout_s, 120)


def test_every_function_has_limits_with_reasons_in_every_deployed_stage() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    for function in cfn.functions():
        assert config["lambda_functions"][cfn.chalice_name(function)]["why"]  # the timeout, the same in every stage
    for stage in (s for s in config["stages"] if s != "local"):
        entries = config["stages"][stage]["lambda_functions"]
        assert set(entries) == {cfn.chalice_name(f) for f in cfn.functions()}
        assert all(entry["why"] and entry["reserved_concurrency"] >= 1 for entry in entries.values())
        limits = cfn.function_limits(stage)
        assert limits[cfn.API_FUNCTION].timeout_s <= 29  # API Gateway's integration timeout
        # An account has 1,000 concurrent executions by default and keeps 100 unreserved: dev and prod fit in one.
        assert sum(limit.reserved_concurrency or 0 for limit in limits.values()) <= 450


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
        undelivered = {"Fn::GetAtt": [cfn.queue_id(topology.UNDELIVERED_EVENTS), "Arn"]}
        assert [t["DeadLetterConfig"] for t in props["Targets"]] == [{"Arn": undelivered}]
        undelivered_ref = {"Ref": cfn.queue_id(topology.UNDELIVERED_EVENTS)}
        (dead_letters,) = [s for p in policies if p["Properties"]["Queues"] == [undelivered_ref]
                           for s in p["Properties"]["PolicyDocument"]["Statement"]]
        assert {"Fn::GetAtt": [rule_id, "Arn"]} in dead_letters["Condition"]["ArnEquals"]["aws:SourceArn"]
        allowing = [
            s
            for p in policies
            if {"Ref": cfn.queue_id(spec.queue)} in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]} and s["Resource"] == target_arn
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
        reserved = cfn.function_limits(STAGE)[spec.function].reserved_concurrency
        assert props["ScalingConfig"] == {"MaximumConcurrency": max(2, reserved or 0)}
        if spec.batch_size > 10:
            assert spec.batching_window_s >= 1  # SQS mappings above 10 messages need a batching window


def test_mappings_wait_for_the_policy(template: dict[str, Any]) -> None:
    policies = set(_of_type(template, "AWS::IAM::ManagedPolicy"))
    for mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").values():
        assert policies & set(mapping["DependsOn"])


def _policies(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Function → the statements of the one managed policy attached to its own role."""
    found = {}
    for function in cfn.functions():
        (policy,) = [p for p in _of_type(template, "AWS::IAM::ManagedPolicy").values()
                     if p["Properties"]["Roles"] == [{"Ref": cfn.role_id(function)}]]
        found[function] = policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _allowed(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [r for s in statements if action in s["Action"] for r in s["Resource"]]


def _tables(*specs: topology.TableSpec) -> list[Any]:
    return [{"Fn::GetAtt": [cfn.table_id(t), "Arn"]} for t in specs]


def test_each_function_has_its_own_policy_naming_only_what_its_row_names(template: dict[str, Any]) -> None:
    policies = _policies(template)
    assert len(set(cfn.function_roles().values())) == len(cfn.functions())  # no role shared
    for function, statements in policies.items():
        row = access.BY_FUNCTION[function]
        assert all(s["Effect"] == "Allow" for s in statements)
        assert sorted(map(str, _allowed(statements, "dynamodb:GetItem"))) == sorted(map(str, _tables(*row.reads, *row.writes)))
        assert _allowed(statements, "dynamodb:PutItem") == _tables(*row.writes)
        assert _allowed(statements, "dynamodb:Query")[len({t.logical for t in row.reads + row.writes}):] == [
            {"Fn::Sub": f"${{{cfn.table_id(access.table_of(i))}.Arn}}/index/{i.name}"} for i in row.queries
        ]
        assert _allowed(statements, "events:PutEvents") == ([{"Fn::GetAtt": [cfn.BUS_ID, "Arn"]}] if row.publishes else [])
        assert _allowed(statements, "sns:Publish") == (["*"] if row.sms else [])
        assert _allowed(statements, "logs:PutLogEvents") == [{"Fn::GetAtt": [cfn.log_group_id(function), "Arn"]}]
        consumed = [{"Fn::GetAtt": [cfn.queue_id(m.queue), "Arn"]} for m in topology.QUEUE_MAPPINGS if m.function == function]
        assert _allowed(statements, "sqs:ReceiveMessage") == consumed
        streams = [{"Fn::GetAtt": [cfn.table_id(m.table), "StreamArn"]}
                   for m in topology.STREAM_MAPPINGS if m.function == function]
        assert _allowed(statements, "dynamodb:GetRecords") == streams
        destinations = [m.on_failure for m in topology.STREAM_MAPPINGS if m.function == function]
        destinations += [s.on_failure for s in topology.SCHEDULES if s.function == function] + list(row.sends)
        assert _allowed(statements, "sqs:SendMessage") == [{"Fn::GetAtt": [cfn.queue_id(q), "Arn"]} for q in destinations]
        assert _allowed(statements, "secretsmanager:GetSecretValue") == [cfn.secret_arn(s, STAGE) for s in row.secrets]
        assert "dynamodb:Scan" not in {a for s in statements for a in s["Action"]}
        assert not {a for s in statements for a in s["Action"] if a.startswith(("kms:", "s3:Delete", "iam:"))}


def test_least_privilege_in_facts_that_do_not_come_from_the_rows(template: dict[str, Any]) -> None:
    policies = _policies(template)
    assert [f for f, s in policies.items() if _allowed(s, "events:PutEvents")] == [topology.RELAY_MAPPING.function]
    assert [f for f, s in policies.items() if _allowed(s, "sns:Publish")] == [topology.NOTIFICATIONS_MAPPING.function]
    assert [f for f, s in policies.items() if _allowed(s, "ssm:GetParameter")] == [cfn.API_FUNCTION]
    assert [f for f, s in policies.items() if _allowed(s, "s3:PutObject")] == [cfn.API_FUNCTION]
    assert _allowed(policies[topology.RELAY_MAPPING.function], "dynamodb:PutItem") == []
    assert _allowed(policies[topology.COUNTERS_MAPPING.function], "dynamodb:GetItem") == _tables(topology.COUNTERS)
    api = policies[cfn.API_FUNCTION]
    assert _allowed(api, "ssm:GetParameter") == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/dvc/{STAGE}/jwt-public-key"}
    ]
    objects = [{"Fn::Sub": f"${{{cfn.bucket_id(b)}.Arn}}/*"} for b in topology.BUCKETS]
    assert _allowed(api, "s3:PutObject") == objects
    assert _allowed(api, "s3:GetObject") == objects  # HeadObject is authorised by s3:GetObject
    # ListBucket on the bucket itself, so HeadObject of a missing key is a 404 rather than a 403
    assert _allowed(api, "s3:ListBucket") == [{"Fn::GetAtt": [cfn.bucket_id(b), "Arn"]} for b in topology.BUCKETS]


def test_no_policy_grants_a_wildcard_resource_on_data_services(template: dict[str, Any]) -> None:
    for function, statements in _policies(template).items():
        assert not wildcard_grants(statements), function
    assert wildcard_grants([{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["*"]}])
    assert wildcard_grants([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::Sub": "${T.Arn}/index/*"}}]) == []
    assert wildcard_grants([{"Effect": "Allow", "Action": "events:*", "Resource": "arn:aws:events:*:*:event-bus/*"}])


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
    # SAM names the rule of a function's Schedule event `{function}{event}` (the packaged template's test and
    # cfn-lint, which transforms SAM, check these exist).
    sam_rules = {"DeadlineWatchDeadlineWatchEvent", "ReconcilePaymentsReconcilePaymentsEvent"}
    known = set(template["Resources"]) | set(template.get("Parameters", {})) | CHALICE_IDS | sam_rules
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
    """Chalice's resources are only extended, never redefined: the extensions have no Type, only properties."""
    schedules = {"DeadlineWatch", "ReconcilePayments"}
    assert set(template["Resources"]) & (CHALICE_IDS | {"APIHandlerInvokePermission"}) == {"RestAPI", "APIHandler"} | schedules
    assert template["Resources"]["APIHandler"] == {"Properties": {"Environment": {"Variables": identity.api_environment()}}}
    api = template["Resources"]["RestAPI"]
    assert set(api) == {"Properties", "DependsOn"} and "Type" not in api
    assert set(api["Properties"]) == {"GatewayResponses", "TracingEnabled", "MethodSettings", "AccessLogSetting"}
    assert api["Properties"]["GatewayResponses"] == cfn.gateway_responses()
    for spec in topology.SCHEDULES:  # only the dead-letter queue of the schedule's rule target
        events = template["Resources"][CHALICE_FUNCTION_IDS[spec.function]]
        assert events == {"Properties": {"Events": {cfn.schedule_event_id(spec): {"Properties": {
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [cfn.queue_id(topology.UNDELIVERED_EVENTS), "Arn"]}}}}}}}


def test_the_api_stage_is_traced_throttled_below_its_capacity_and_logged(template: dict[str, Any]) -> None:
    props = template["Resources"]["RestAPI"]["Properties"]
    assert props["TracingEnabled"] is True
    reserved = cfn.function_limits(STAGE)[cfn.API_FUNCTION].reserved_concurrency
    assert reserved is not None
    (settings,) = props["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] == 5 * reserved and settings["ThrottlingBurstLimit"] == 10 * reserved
    log = props["AccessLogSetting"]
    group = template["Resources"][log["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"] == cfn.LOG_RETENTION_DAYS
    line = json.loads(log["Format"])  # one JSON object a request
    assert line["requestId"] == "$context.requestId"
    assert not {"$context.identity.sourceIp", "$context.path", "$context.identity.userAgent"} & set(line.values())
    assert template["Resources"]["RestAPI"]["DependsOn"] == ["ApiGatewayAccount"]
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


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
    assert cfn.function_roles() == {f: f"{i if f != cfn.API_FUNCTION else 'ApiHandler'}Role"
                                    for f, i in CHALICE_FUNCTION_IDS.items()}
    assert {row.function for row in access.ACCESS} == set(cfn.functions())


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
    groups = {k: g for k, g in _of_type(template, "AWS::Logs::LogGroup").items() if k != "ApiAccessLogGroup"}
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
