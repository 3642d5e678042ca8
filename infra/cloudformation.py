"""The deployed stack's data resources, rendered from `chalicelib.topology` as a template for Chalice to merge.

`chalice package --stage dev --merge-template infra/build/resources.dev.json out/` deep-merges this template into
the SAM template Chalice generates (dictionaries merged key by key, this file's values winning). So this template
only *adds* resources and refers to Chalice's own by their logical ids: a `lambda_function(name="relay")` is
`Relay` (Chalice's `to_cfn_resource_name`, CamelCase), the API handler is `APIHandler`, the API `RestAPI`, and
with `autogen_policy` (the default, as in `.chalice/config.json`) every function runs as `DefaultRole`. None of
this template's logical ids may equal one of those, or the merge would silently replace Chalice's resource.

What it adds for a stage: the DynamoDB tables, the buckets (versioned, private, SSE-S3, kept on delete), the
queues and their dead-letter queues, the custom event bus with an archive (for replaying events to rebuild
counters), the rules with their SQS targets and the queue policies letting EventBridge deliver, the event-source
mappings of the relay (table stream) and counters (queue) functions, the scheduled functions' failure destinations,
a log group with a retention period per function, one least-privilege managed policy attached to `DefaultRole`,
the alarms, their SNS topic and the dashboard (`infra/observability.py`), and outputs for names and URLs.
If `autogen_policy` is ever turned off, Chalice gives each function its own role (`RelayRole`, `CountersRole`,
...): list those in `CHALICE_ROLES` and map each function to its role in `function_roles()`.

One deliberate extension of a Chalice resource: `RestAPI` (an `AWS::Serverless::Api` whose swagger is inline)
gets the `GatewayResponses` property, one per row of `gateway_errors.GATEWAY_RESPONSES`. SAM writes them into the
swagger (`x-amazon-apigateway-gateway-responses`), so they are part of every deployment of the API. Separate
`AWS::ApiGateway::GatewayResponse` resources are not: a gateway response takes effect only when the API is next
deployed, SAM redeploys only when the swagger changes, and a swagger update replaces the API's definition
(aws/serverless-application-model issues 390 and 623). `CHALICE_EXTENSIONS` lists the only such paths allowed.

Every name and pattern comes from the topology; nothing here spells one by hand. Run as
`python -m infra.cloudformation --stage dev --out infra/build/resources.dev.json`.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib import topology
from chalicelib.handlers.gateway_errors import GATEWAY_RESPONSES
from infra import observability
from infra.provision import table_definition

# The function behind the REST API: Chalice names it `api_handler` and gives it the logical id `APIHandler`.
API_FUNCTION = "api"
API_HANDLER_ID = "APIHandler"
REST_API_ID = "RestAPI"

# Logical ids Chalice's SAM template defines and this template may refer to.
CHALICE_ROLES: tuple[str, ...] = ("DefaultRole",)
CHALICE_LOGICAL_IDS: frozenset[str] = frozenset(
    {API_HANDLER_ID, REST_API_ID, *CHALICE_ROLES}
    | {to_cfn_resource_name(m.function) for m in topology.STREAM_MAPPINGS}
    | {to_cfn_resource_name(m.function) for m in topology.QUEUE_MAPPINGS}
    | {to_cfn_resource_name(s.function) for s in topology.SCHEDULES}
)
# The only properties of Chalice's resources this template sets (the merge is deep; see the module docstring).
CHALICE_EXTENSIONS: frozenset[tuple[str, str]] = frozenset({(REST_API_ID, "GatewayResponses")})

ARCHIVE_RETENTION_DAYS = 365
# CloudWatch keeps Lambda logs forever unless told otherwise. Logs carry no personal data (that stays in the
# dossier items, with their history); 90 days covers investigating a month's or a quarter's report and the
# complaints that follow it, without paying to keep every debug line for years.
LOG_RETENTION_DAYS = 90
LAMBDA_VISIBILITY_FACTOR = 6  # AWS: a queue feeding a function should hide a message for 6 × its timeout


def _ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def _arn(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


# --- logical ids ----------------------------------------------------------------------------------------------


def function_id(function: str) -> str:
    """The logical id Chalice gives `lambda_function(name=function)` or `schedule(name=function)`."""
    return API_HANDLER_ID if function == API_FUNCTION else to_cfn_resource_name(function)


def functions() -> tuple[str, ...]:
    """Every Lambda function of the app: the API handler, the event-source consumers and the schedules."""
    return (
        API_FUNCTION,
        *(m.function for m in topology.STREAM_MAPPINGS),
        *(m.function for m in topology.QUEUE_MAPPINGS),
        *(s.function for s in topology.SCHEDULES),
    )


def function_roles() -> dict[str, str]:
    """Function → the logical id of the role it runs as. With `autogen_policy` every function shares one role."""
    return {function: CHALICE_ROLES[0] for function in functions()}


def table_id(spec: topology.TableSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}Table"


def queue_id(spec: topology.QueueSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}Queue"


def dlq_id(spec: topology.QueueSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}DeadLetterQueue"


def bucket_id(spec: topology.BucketSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}Bucket"


def rule_id(spec: topology.RuleSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}Rule"


def stream_mapping_id(mapping: topology.StreamMapping) -> str:
    return f"{function_id(mapping.function)}{to_cfn_resource_name(mapping.table.logical)}StreamMapping"


def queue_mapping_id(mapping: topology.QueueMapping) -> str:
    return f"{function_id(mapping.function)}{to_cfn_resource_name(mapping.queue.logical)}QueueMapping"


def log_group_id(function: str) -> str:
    return f"{function_id(function)}LogGroup"


def invoke_config_id(schedule: topology.ScheduleSpec) -> str:
    return f"{function_id(schedule.function)}EventInvokeConfig"


BUS_ID = f"{to_cfn_resource_name(topology.BUS_LOGICAL)}Bus"
ARCHIVE_ID = f"{BUS_ID}Archive"
POLICY_ID = "DvcDataAccessPolicy"


# --- resources ------------------------------------------------------------------------------------------------


def _table(spec: topology.TableSpec, stage: str) -> dict[str, Any]:
    properties = table_definition(spec, stage)  # the same keys, attributes and indexes as the local stack
    stream = properties.pop("StreamSpecification", None)
    if stream:
        properties["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}  # no StreamEnabled in CFN
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["SSESpecification"] = {"SSEEnabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _bucket(spec: topology.BucketSpec, stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",  # dossier components are records the law makes the agency keep
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": spec.physical(stage),
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        },
    }


def visibility_timeout(spec: topology.QueueSpec, function_timeout_s: int) -> int:
    """The spec's visibility timeout, raised to 6 × the function timeout for a queue a function consumes."""
    if any(m.queue == spec for m in topology.QUEUE_MAPPINGS):
        return max(spec.visibility_timeout_s, LAMBDA_VISIBILITY_FACTOR * function_timeout_s)
    return spec.visibility_timeout_s


def _queues(spec: topology.QueueSpec, stage: str, function_timeout_s: int) -> dict[str, Any]:
    return {
        dlq_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": spec.dlq_physical(stage),
                "MessageRetentionPeriod": spec.dlq_retention_s,
                "SqsManagedSseEnabled": True,
            },
        },
        queue_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": spec.physical(stage),
                "VisibilityTimeout": visibility_timeout(spec, function_timeout_s),
                "MessageRetentionPeriod": spec.retention_s,
                "RedrivePolicy": {
                    "deadLetterTargetArn": _arn(dlq_id(spec)),
                    "maxReceiveCount": spec.max_receive_count,
                },
                "SqsManagedSseEnabled": True,
            },
        },
    }


def _bus(stage: str) -> dict[str, Any]:
    return {
        BUS_ID: {"Type": "AWS::Events::EventBus", "Properties": {"Name": topology.bus_name(stage)}},
        ARCHIVE_ID: {
            "Type": "AWS::Events::Archive",
            "Properties": {
                "ArchiveName": f"{topology.bus_name(stage)}-archive",
                "Description": "Every event on the bus, kept for replay (rebuilding counters).",
                "SourceArn": _arn(BUS_ID),
                "RetentionDays": ARCHIVE_RETENTION_DAYS,
            },
        },
    }


def _rule(spec: topology.RuleSpec, stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": spec.physical(stage),
            "EventBusName": _ref(BUS_ID),
            "EventPattern": copy.deepcopy(spec.pattern),  # the template must not alias the topology
            "State": "ENABLED",
            "Targets": [{"Id": spec.queue.logical, "Arn": _arn(queue_id(spec.queue))}],
        },
    }


def _queue_policies() -> dict[str, Any]:
    """One policy per target queue (a queue has one policy), a statement per rule delivering to it."""
    by_queue: dict[str, list[topology.RuleSpec]] = {}
    for rule in topology.RULES:
        by_queue.setdefault(queue_id(rule.queue), []).append(rule)
    return {
        f"{target}EventsPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [_ref(target)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": f"{rule_id(rule)}SendMessage",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": _arn(target),
                            "Condition": {"ArnEquals": {"aws:SourceArn": _arn(rule_id(rule))}},
                        }
                        for rule in rules
                    ],
                },
            },
        }
        for target, rules in by_queue.items()
    }


def _stream_mapping(mapping: topology.StreamMapping) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "DependsOn": [POLICY_ID],  # Lambda checks the role can read the stream when the mapping is created
        "Properties": {
            "FunctionName": _ref(function_id(mapping.function)),
            "EventSourceArn": _arn(table_id(mapping.table), "StreamArn"),
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": mapping.batch_size,
            "MaximumRetryAttempts": mapping.max_retry_attempts,
            "BisectBatchOnFunctionError": mapping.bisect_on_error,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(mapping.filter_pattern)}]},
            "DestinationConfig": {"OnFailure": {"Destination": _arn(queue_id(mapping.on_failure))}},
        },
    }


def _queue_mapping(mapping: topology.QueueMapping) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "DependsOn": [POLICY_ID],  # Lambda checks the role can receive from the queue when the mapping is created
        "Properties": {
            "FunctionName": _ref(function_id(mapping.function)),
            "EventSourceArn": _arn(queue_id(mapping.queue)),
            "BatchSize": mapping.batch_size,
            "MaximumBatchingWindowInSeconds": mapping.batching_window_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    }


def _invoke_config(schedule: topology.ScheduleSpec) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "DependsOn": [POLICY_ID],  # Lambda checks the role can send to the destination when it is configured
        "Properties": {
            "FunctionName": _ref(function_id(schedule.function)),
            "Qualifier": "$LATEST",  # Chalice publishes no versions or aliases: the schedule invokes $LATEST
            "MaximumRetryAttempts": schedule.max_retry_attempts,
            "MaximumEventAgeInSeconds": schedule.max_event_age_s,
            "DestinationConfig": {"OnFailure": {"Destination": _arn(queue_id(schedule.on_failure))}},
        },
    }


def _log_group(function: str) -> dict[str, Any]:
    # `chalice package` sets no FunctionName, so CloudFormation names each function; its Ref is that name, and
    # Lambda writes to /aws/lambda/{name}. (Chalice's own `log_retention_in_days` does the same; it stays unset in
    # .chalice/config.json so the two never define one log group twice.) A function that already ran has a log
    # group Lambda created: on a stage deployed before this template, delete or import those before updating.
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": _sub(f"/aws/lambda/${{{function_id(function)}}}"),
            "RetentionInDays": LOG_RETENTION_DAYS,
        },
    }


def gateway_responses() -> dict[str, Any]:
    """SAM's `GatewayResponses` for `RestAPI`: API Gateway's own errors in the documented error shape."""
    responses: dict[str, Any] = {}
    for row in GATEWAY_RESPONSES:
        assert row.response_type is not None  # GATEWAY_RESPONSES holds only rows with a response type
        response: dict[str, Any] = {"ResponseTemplates": {"application/json": row.body_json()}}
        if row.status is not None:  # None: DEFAULT_4XX/5XX keep the status API Gateway chose
            response["StatusCode"] = str(row.status)
        responses[row.response_type] = response
    return responses


def _chalice_extensions() -> dict[str, Any]:
    return {REST_API_ID: {"Properties": {"GatewayResponses": gateway_responses()}}}


def _statement(sid: str, actions: Iterable[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def parameter_arn(spec: topology.ParameterSpec, stage: str) -> dict[str, Any]:
    # The physical name starts with "/", which the ARN keeps: arn:...:parameter/dvc/{stage}/...
    return _sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{spec.physical(stage)}")


def secret_arn(spec: topology.SecretSpec, stage: str) -> dict[str, Any]:
    # Secrets Manager appends six random characters to a secret's ARN: "-??????" matches them and nothing longer.
    return _sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:"
                f"{spec.physical(stage)}-??????")


def _policy(stage: str) -> dict[str, Any]:
    tables = [_arn(table_id(t)) for t in topology.TABLES]
    indexes = [_sub(f"${{{table_id(t)}.Arn}}/index/*") for t in topology.TABLES if t.indexes]
    streams = [_arn(table_id(t), "StreamArn") for t in topology.TABLES if t.stream_view]
    stream_lists = [_sub(f"${{{table_id(t)}.Arn}}/stream/*") for t in topology.TABLES if t.stream_view]
    consumed = [_arn(queue_id(m.queue)) for m in topology.QUEUE_MAPPINGS]
    failure_destinations = [_arn(queue_id(m.on_failure)) for m in topology.STREAM_MAPPINGS]
    failure_destinations += [_arn(queue_id(s.on_failure)) for s in topology.SCHEDULES]
    handled_failures = [_arn(queue_id(q)) for q in topology.HANDLED_FAILURE_QUEUES]
    parameters = [parameter_arn(p, stage) for p in topology.PARAMETERS]
    secrets = [secret_arn(secret, stage) for secret in topology.SECRETS]
    buckets = [_arn(bucket_id(b)) for b in topology.BUCKETS]
    objects = [_sub(f"${{{bucket_id(b)}.Arn}}/*") for b in topology.BUCKETS]
    statements = [
        _statement(
            "Tables",
            # No Scan: reports read counters and dossiers by key or index.
            {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
             "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
             "dynamodb:Query", "dynamodb:UpdateItem"},
            tables,
        ),
        _statement("Indexes", {"dynamodb:Query"}, indexes),
        _statement("Streams", {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, streams),
        _statement("StreamLists", {"dynamodb:ListStreams"}, stream_lists),
        _statement("Bus", {"events:PutEvents"}, [_arn(BUS_ID)]),
        _statement("ConsumedQueues", {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, consumed),
        _statement("FailureDestinations", {"sqs:SendMessage"}, failure_destinations),
        # Queues a function reports failures to itself (notices no provider took), found by name once per container.
        _statement("HandledFailures", {"sqs:GetQueueUrl", "sqs:SendMessage"}, handled_failures),
        # SMS straight to a phone number: SNS authorises that only on "*" (there is no phone-number resource).
        _statement("Sms", {"sns:Publish"}, ["*"]),
        # Email from the stage's SES identities (the sender's verified domain or address).
        _statement("Email", {"ses:SendEmail"},
                   [_sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")]),
        # PutObject signs the presigned uploads; GetObject covers downloads and HeadObject (no action of its own).
        _statement("Objects", {"s3:GetObject", "s3:PutObject"}, objects),
        # Without ListBucket, HeadObject answers 403 instead of 404 for a key nobody has uploaded yet.
        _statement("Buckets", {"s3:ListBucket"}, buckets),
        # The parameters are SecureStrings under the AWS managed key aws/ssm, whose key policy already lets every
        # principal of the account decrypt through SSM: no kms:Decrypt here (a customer managed key would need it).
        _statement("Parameters", {"ssm:GetParameter"}, parameters),
        # Secrets under the AWS managed key aws/secretsmanager: no kms:Decrypt here either.
        _statement("Secrets", {"secretsmanager:GetSecretValue"}, secrets),
    ]
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": "What the DVC functions may do with the stage's tables, bus, queues, buckets and parameters.",
            "Roles": [_ref(role) for role in CHALICE_ROLES],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [s for s in statements if s["Resource"]]},
        },
    }


def failure_queues(stage: str) -> dict[str, str]:
    """Logical id → physical name of every queue that holds only failures: each spec's dead-letter queue and
    each stream mapping's or schedule's on-failure destination (a queue of its own, with its own DLQ, that nothing
    consumes)."""
    found = {dlq_id(spec): spec.dlq_physical(stage) for spec in topology.QUEUES}
    found |= {queue_id(m.on_failure): m.on_failure.physical(stage) for m in topology.STREAM_MAPPINGS}
    found |= {queue_id(s.on_failure): s.on_failure.physical(stage) for s in topology.SCHEDULES}
    found |= {queue_id(q): q.physical(stage) for q in topology.HANDLED_FAILURE_QUEUES}
    return found


def _outputs() -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for table in topology.TABLES:
        outputs[f"{table_id(table)}Name"] = {"Value": _ref(table_id(table))}
    outputs[f"{BUS_ID}Name"] = {"Value": _ref(BUS_ID)}
    for queue in topology.QUEUES:
        outputs[f"{queue_id(queue)}Url"] = {"Value": _ref(queue_id(queue))}
        outputs[f"{dlq_id(queue)}Url"] = {"Value": _ref(dlq_id(queue))}
    for bucket in topology.BUCKETS:
        outputs[f"{bucket_id(bucket)}Name"] = {"Value": _ref(bucket_id(bucket))}
    return outputs


def render(stage: str, *, function_timeout_s: int = 30) -> dict[str, Any]:
    """The template to merge into Chalice's SAM template for `stage`."""
    resources: dict[str, Any] = {}
    for table in topology.TABLES:
        resources[table_id(table)] = _table(table, stage)
    for queue in topology.QUEUES:
        resources |= _queues(queue, stage, function_timeout_s)
    for bucket in topology.BUCKETS:
        resources[bucket_id(bucket)] = _bucket(bucket, stage)
    resources |= _bus(stage)
    for rule in topology.RULES:
        resources[rule_id(rule)] = _rule(rule, stage)
    resources |= _queue_policies()
    for stream_mapping in topology.STREAM_MAPPINGS:
        resources[stream_mapping_id(stream_mapping)] = _stream_mapping(stream_mapping)
    for queue_mapping in topology.QUEUE_MAPPINGS:
        resources[queue_mapping_id(queue_mapping)] = _queue_mapping(queue_mapping)
    for schedule in topology.SCHEDULES:
        resources[invoke_config_id(schedule)] = _invoke_config(schedule)
    for function in functions():
        resources[log_group_id(function)] = _log_group(function)
    resources[POLICY_ID] = _policy(stage)
    observed = observability.section(stage)  # alarms, their topic, the dashboard, X-Ray's permissions
    resources |= observed["Resources"]
    clashes = set(resources) & CHALICE_LOGICAL_IDS
    if clashes:
        raise ValueError(f"logical ids would replace Chalice's own resources: {sorted(clashes)}")
    extensions = _chalice_extensions()
    extended = {(logical_id, key) for logical_id, ext in extensions.items() for key in ext["Properties"]}
    if extended - CHALICE_EXTENSIONS or any(set(ext) != {"Properties"} for ext in extensions.values()):
        raise ValueError(f"only {sorted(CHALICE_EXTENSIONS)} of Chalice's resources may be extended")
    resources |= extensions
    return {
        "Parameters": observed["Parameters"],
        "Conditions": observed["Conditions"],
        "Resources": resources,
        "Outputs": _outputs() | observed["Outputs"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--function-timeout", type=int, default=30, help="the functions' timeout in seconds")
    args = parser.parse_args(argv)
    template = render(args.stage, function_timeout_s=args.function_timeout)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
