"""The deployed stack's data resources, rendered from `chalicelib.topology` as a template for Chalice to merge.

`chalice package --stage dev --merge-template infra/build/resources.dev.json out/` deep-merges this template into
the SAM template Chalice generates (dictionaries merged key by key, this file's values winning). So this template
only *adds* resources and refers to Chalice's own by their logical ids: a `lambda_function(name="relay")` is
`Relay` (Chalice's `to_cfn_resource_name`, CamelCase), the API handler is `APIHandler`, the API `RestAPI`, and
with `autogen_policy` off (`.chalice/config.json`) each function runs as a role of its own, `{Name}Role` (Chalice's
`{name}_role`; the API's is `ApiHandlerRole`), whose inline policy is `.chalice/policy-base.json`. None of this
template's logical ids may equal one of those, or the merge would silently replace Chalice's resource.

What it adds for a stage: the DynamoDB tables, the buckets (versioned, private, SSE-S3, kept on delete), the
queues and their dead-letter queues, the custom event bus with an archive (for replaying events to rebuild
counters), the rules with their SQS targets and the queue policies letting EventBridge deliver, the event-source
mappings of the relay (table stream) and counters (queue) functions, the scheduled functions' failure destinations,
a log group with a retention period per function, a least-privilege managed policy per function attached to its
role (built from its row in `infra.access`: only the tables, indexes, bus, queues, buckets, parameters and secrets
it touches, and its own log group), the alarms, their SNS topic and the dashboard (`infra/observability.py`), and outputs.
Timeouts and reserved concurrency are Chalice's, per stage and function in `.chalice/config.json`; the queues'
visibility timeouts and the queue mappings' maximum concurrency are read from there (`FunctionLimits`).

One deliberate extension of a Chalice resource: `RestAPI` (an `AWS::Serverless::Api` whose swagger is inline)
gets the `GatewayResponses` property, one per row of `gateway_errors.GATEWAY_RESPONSES`. SAM writes them into the
swagger (`x-amazon-apigateway-gateway-responses`), so they are part of every deployment of the API. Separate
`AWS::ApiGateway::GatewayResponse` resources are not: a gateway response takes effect only when the API is next
deployed, SAM redeploys only when the swagger changes, and a swagger update replaces the API's definition
(aws/serverless-application-model issues 390 and 623). The same resource gets the stage settings of
`infra.gateway_stage` (tracing, throttle, access logs); each scheduled function's SAM `Schedule` event gets the
dead-letter queue of its rule's target. `CHALICE_EXTENSIONS` lists the only such paths allowed.

Every name and pattern comes from the topology; nothing here spells one by hand. Run as
`python -m infra.cloudformation --stage dev --out infra/build/resources.dev.json`.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_TIMEOUT
from chalice.utils import to_cfn_resource_name

from chalicelib import topology
from chalicelib.handlers.gateway_errors import GATEWAY_RESPONSES
from infra import access, gateway_stage, identity, observability
from infra.access import API_FUNCTION as API_FUNCTION
from infra.provision import table_definition

ROOT = Path(__file__).resolve().parent.parent
# The function behind the REST API: Chalice names it `api_handler` and gives it the logical id `APIHandler`.
API_CHALICE_NAME = "api_handler"
API_HANDLER_ID = "APIHandler"
REST_API_ID = "RestAPI"
# The only properties of Chalice's resources this template sets (the merge is deep; see the module docstring).
# (id, key): a property, or the resource's DependsOn.
CHALICE_EXTENSIONS: frozenset[tuple[str, str]] = frozenset(
    {(REST_API_ID, key) for key in ("GatewayResponses", "TracingEnabled", "MethodSettings", "AccessLogSetting")}
    | {(REST_API_ID, "DependsOn")}  # the account's CloudWatch role (`gateway_stage`) before the stage logs
    | {(to_cfn_resource_name(s.function), "Events") for s in topology.SCHEDULES}  # their rules' dead-letter queue
    | {(API_HANDLER_ID, "Environment")}  # the user pools' ids (`identity`), beside the variables Chalice sets
)

ARCHIVE_RETENTION_DAYS = 365
# CloudWatch keeps Lambda logs forever unless told otherwise. Logs carry no personal data (that stays in the
# dossier items, with their history); 90 days covers investigating a month's or a quarter's report and the
# complaints that follow it, without paying to keep every debug line for years.
LOG_RETENTION_DAYS = 90
LAMBDA_VISIBILITY_FACTOR = 6  # AWS: a queue feeding a function should hide a message for 6 × its timeout
MIN_MAPPING_CONCURRENCY = 2  # the smallest maximum concurrency an SQS mapping takes


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
    """Every Lambda function of the app, one per row of `infra.access` (the API handler, the event-source consumers,
    the schedules, and any function invoked by hand); each mapping's and schedule's function must have its row."""
    declared = tuple(row.function for row in access.ACCESS)
    triggered = {m.function for m in (*topology.STREAM_MAPPINGS, *topology.QUEUE_MAPPINGS, *topology.SCHEDULES)}
    triggered |= set(topology.INVOKED_FUNCTIONS)
    if missing := triggered - set(declared):
        raise ValueError(f"functions without a row in infra/access.py: {sorted(missing)}")
    return declared


def chalice_name(function: str) -> str:
    """The function's name in Chalice: its key under `lambda_functions` in `.chalice/config.json`."""
    return API_CHALICE_NAME if function == API_FUNCTION else function


def role_id(function: str) -> str:
    """The logical id of the role Chalice gives the function when `autogen_policy` is off (`{name}_role`)."""
    return to_cfn_resource_name(f"{chalice_name(function)}_role")


def function_roles() -> dict[str, str]:
    """Function → the logical id of the role it runs as: one each."""
    return {function: role_id(function) for function in functions()}


# Logical ids Chalice's SAM template defines and this template may refer to.
CHALICE_LOGICAL_IDS: frozenset[str] = frozenset(
    {REST_API_ID} | {function_id(f) for f in functions()} | {role_id(f) for f in functions()}
)


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


def policy_id(function: str) -> str:
    return f"{function_id(function)}AccessPolicy"


BUS_ID = f"{to_cfn_resource_name(topology.BUS_LOGICAL)}Bus"
ARCHIVE_ID = f"{BUS_ID}Archive"


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


@dataclass(frozen=True)
class FunctionLimits:
    """What `chalice package` gives a function in a stage, as Chalice itself resolves `.chalice/config.json`
    (the stage's `lambda_functions` entry, then the stage, then the top-level entry, then the top level)."""

    timeout_s: int
    reserved_concurrency: int | None


def function_limits(stage: str, config: dict[str, Any] | None = None) -> dict[str, FunctionLimits]:
    if config is None:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    limits = {}
    for function in functions():
        scoped = Config(chalice_stage=stage, function_name=chalice_name(function), config_from_disk=config,
                        default_params={"lambda_timeout": DEFAULT_LAMBDA_TIMEOUT})
        limits[function] = FunctionLimits(int(scoped.lambda_timeout), scoped.reserved_concurrency)
    return limits


def visibility_timeout(spec: topology.QueueSpec, limits: dict[str, FunctionLimits]) -> int:
    """The spec's visibility timeout, raised to 6 × the timeout of the function consuming the queue, if any."""
    consumers = [limits[m.function].timeout_s for m in topology.QUEUE_MAPPINGS if m.queue == spec]
    return max([spec.visibility_timeout_s, *(LAMBDA_VISIBILITY_FACTOR * t for t in consumers)])


def _queues(spec: topology.QueueSpec, stage: str, limits: dict[str, FunctionLimits]) -> dict[str, Any]:
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
                "VisibilityTimeout": visibility_timeout(spec, limits),
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


def _undelivered_dlq() -> dict[str, Any]:
    return {"Arn": _arn(queue_id(topology.UNDELIVERED_EVENTS))}


def _rule(spec: topology.RuleSpec, stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": spec.physical(stage),
            "EventBusName": _ref(BUS_ID),
            "EventPattern": copy.deepcopy(spec.pattern),  # the template must not alias the topology
            "State": "ENABLED",
            "Targets": [{"Id": spec.queue.logical, "Arn": _arn(queue_id(spec.queue)),
                         "DeadLetterConfig": _undelivered_dlq()}],
        },
    }


def schedule_event_id(schedule: topology.ScheduleSpec) -> str:
    """Chalice's name for a schedule's SAM event (`{name}-event`)."""
    return to_cfn_resource_name(f"{schedule.function}-event")


def schedule_rule_id(schedule: topology.ScheduleSpec) -> str:
    """The rule SAM generates for a schedule event: `{function logical id}{event name}` (SAM's documented naming)."""
    return f"{function_id(schedule.function)}{schedule_event_id(schedule)}"


def _events_may_send(target: str, sources: dict[str, list[str]]) -> dict[str, Any]:
    """The policy of queue `target` (a queue has one): EventBridge may send to it from the rules of each statement."""
    statements = [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": _arn(target),
            "Condition": {"ArnEquals": {"aws:SourceArn": _arn(rules[0]) if len(rules) == 1 else [_arn(r) for r in rules]}},
        }
        for sid, rules in sources.items()
    ]
    return {
        f"{target}EventsPolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [_ref(target)], "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
        }
    }


def _queue_policies() -> dict[str, Any]:
    """A statement per rule delivering to a queue; and the undelivered-events queue takes what any rule (ours, or a
    schedule's rule SAM makes) could not deliver."""
    by_queue: dict[str, dict[str, list[str]]] = {}
    for rule in topology.RULES:
        by_queue.setdefault(queue_id(rule.queue), {})[f"{rule_id(rule)}SendMessage"] = [rule_id(rule)]
    policies: dict[str, Any] = {}
    for target, sources in by_queue.items():
        policies |= _events_may_send(target, sources)
    rules = [rule_id(r) for r in topology.RULES] + [schedule_rule_id(s) for s in topology.SCHEDULES]
    return policies | _events_may_send(queue_id(topology.UNDELIVERED_EVENTS), {"UndeliveredEvents": rules})


def _stream_mapping(mapping: topology.StreamMapping) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "DependsOn": [policy_id(mapping.function)],  # Lambda checks the role can read the stream at creation
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


def _queue_mapping(mapping: topology.QueueMapping, limits: FunctionLimits) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": _ref(function_id(mapping.function)),
        "EventSourceArn": _arn(queue_id(mapping.queue)),
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.batching_window_s,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    if limits.reserved_concurrency is not None:
        # Lambda's pollers would otherwise invoke beyond the reserved concurrency: each throttled batch goes back to
        # the queue, counts as a receive, and after `max_receive_count` of them lands in the DLQ unprocessed.
        properties["ScalingConfig"] = {"MaximumConcurrency": max(MIN_MAPPING_CONCURRENCY, limits.reserved_concurrency)}
    return {
        "Type": "AWS::Lambda::EventSourceMapping",
        "DependsOn": [policy_id(mapping.function)],  # Lambda checks the role can receive from the queue at creation
        "Properties": properties,
    }


def _invoke_config(schedule: topology.ScheduleSpec) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::EventInvokeConfig",
        "DependsOn": [policy_id(schedule.function)],  # Lambda checks the role can send to the destination
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


def _chalice_extensions(limits: dict[str, FunctionLimits]) -> dict[str, Any]:
    api = {"GatewayResponses": gateway_responses(), **gateway_stage.api_properties(limits[API_FUNCTION].reserved_concurrency)}
    extensions: dict[str, Any] = {REST_API_ID: {"Properties": api, "DependsOn": [gateway_stage.ACCOUNT_ID]}}
    for schedule in topology.SCHEDULES:  # SAM's Schedule event takes the rule target's dead-letter queue
        dead_letter = {"DeadLetterConfig": _undelivered_dlq()}
        extensions[function_id(schedule.function)] = {
            "Properties": {"Events": {schedule_event_id(schedule): {"Properties": dead_letter}}}
        }
    # merged key by key into the variables Chalice sets from .chalice/config.json
    extensions[API_HANDLER_ID] = {"Properties": {"Environment": {"Variables": identity.api_environment()}}}
    return extensions


def _statement(sid: str, actions: Iterable[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def parameter_arn(spec: topology.ParameterSpec, stage: str) -> dict[str, Any]:
    # The physical name starts with "/", which the ARN keeps: arn:...:parameter/dvc/{stage}/...
    return _sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{spec.physical(stage)}")


def secret_arn(spec: topology.SecretSpec, stage: str) -> dict[str, Any]:
    # Secrets Manager appends six random characters to a secret's ARN: "-??????" matches them and nothing longer.
    return _sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:"
                f"{spec.physical(stage)}-??????")


READ_ACTIONS = frozenset({"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                          "dynamodb:GetItem", "dynamodb:Query"})
# No Scan anywhere: reports read counters and dossiers by key or index.
WRITE_ACTIONS = READ_ACTIONS | {"dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}


def _table_statements(row: access.Access) -> list[dict[str, Any]]:
    read_only = [t for t in row.reads if t not in row.writes]
    return [
        _statement("WriteTables", WRITE_ACTIONS, [_arn(table_id(t)) for t in row.writes]),
        _statement("ReadTables", READ_ACTIONS, [_arn(table_id(t)) for t in read_only]),
        _statement("Indexes", {"dynamodb:Query"},
                   [_sub(f"${{{table_id(access.table_of(i))}.Arn}}/index/{i.name}") for i in row.queries]),
    ]


def _mapped_statements(function: str) -> list[dict[str, Any]]:
    """What Lambda does with the function's role for its mappings and schedule (reads, failure destinations)."""
    streams = [m for m in topology.STREAM_MAPPINGS if m.function == function]
    consumed = [m.queue for m in topology.QUEUE_MAPPINGS if m.function == function]
    destinations = [m.on_failure for m in streams] + [s.on_failure for s in topology.SCHEDULES if s.function == function]
    return [
        _statement("Streams", {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"},
                   [_arn(table_id(m.table), "StreamArn") for m in streams]),
        _statement("StreamLists", {"dynamodb:ListStreams"},
                   [_sub(f"${{{table_id(m.table)}.Arn}}/stream/*") for m in streams]),
        _statement("ConsumedQueues", {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
                   [_arn(queue_id(q)) for q in consumed]),
        _statement("FailureDestinations", {"sqs:SendMessage"}, [_arn(queue_id(q)) for q in destinations]),
    ]


def _policy(function: str, stage: str) -> dict[str, Any]:
    row = access.BY_FUNCTION[function]
    statements = [
        # Its own log group only (this template creates it, so no logs:CreateLogGroup).
        _statement("Logs", {"logs:CreateLogStream", "logs:PutLogEvents"}, [_arn(log_group_id(function))]),
        *_table_statements(row),
        *_mapped_statements(function),
        _statement("Bus", {"events:PutEvents"}, [_arn(BUS_ID)] if row.publishes else []),
        # Queues it reports failures to itself (notices no provider took), found by name once per container.
        _statement("SentQueues", {"sqs:GetQueueUrl", "sqs:SendMessage"}, [_arn(queue_id(q)) for q in row.sends]),
        # SMS straight to a phone number: SNS authorises that only on "*" (there is no phone-number resource).
        _statement("Sms", {"sns:Publish"}, ["*"] if row.sms else []),
        # Email from the stage's SES identities (the sender's verified domain or address).
        _statement("Email", {"ses:SendEmail"},
                   [_sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")] if row.email else []),
        # PutObject signs the presigned uploads; GetObject covers downloads and HeadObject (no action of its own).
        _statement("Objects", {"s3:GetObject", "s3:PutObject"}, [_sub(f"${{{bucket_id(b)}.Arn}}/*") for b in row.buckets]),
        # Without ListBucket, HeadObject answers 403 instead of 404 for a key nobody has uploaded yet.
        _statement("Buckets", {"s3:ListBucket"}, [_arn(bucket_id(b)) for b in row.buckets]),
        # The parameters are SecureStrings under the AWS managed key aws/ssm, whose key policy already lets every
        # principal of the account decrypt through SSM: no kms:Decrypt here (a customer managed key would need it).
        _statement("Parameters", {"ssm:GetParameter"}, [parameter_arn(p, stage) for p in row.parameters]),
        # Secrets under the AWS managed key aws/secretsmanager: no kms:Decrypt here either.
        _statement("Secrets", {"secretsmanager:GetSecretValue"}, [secret_arn(s, stage) for s in row.secrets]),
    ]
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Description": f"What the {function} function may do with the stage's resources, and nothing else.",
            "Roles": [_ref(role_id(function))],
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
    found[queue_id(topology.UNDELIVERED_EVENTS)] = topology.UNDELIVERED_EVENTS.physical(stage)
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
    outputs |= identity.outputs()
    return outputs


def render(stage: str, *, limits: dict[str, FunctionLimits] | None = None) -> dict[str, Any]:
    """The template to merge into Chalice's SAM template for `stage` (limits: read from `.chalice/config.json`)."""
    limits = limits if limits is not None else function_limits(stage)
    resources: dict[str, Any] = {}
    for table in topology.TABLES:
        resources[table_id(table)] = _table(table, stage)
    for queue in topology.QUEUES:
        resources |= _queues(queue, stage, limits)
    for bucket in topology.BUCKETS:
        resources[bucket_id(bucket)] = _bucket(bucket, stage)
    resources |= _bus(stage)
    for rule in topology.RULES:
        resources[rule_id(rule)] = _rule(rule, stage)
    resources |= _queue_policies()
    resources |= gateway_stage.resources(stage, LOG_RETENTION_DAYS)
    for stream_mapping in topology.STREAM_MAPPINGS:
        resources[stream_mapping_id(stream_mapping)] = _stream_mapping(stream_mapping)
    for queue_mapping in topology.QUEUE_MAPPINGS:
        resources[queue_mapping_id(queue_mapping)] = _queue_mapping(queue_mapping, limits[queue_mapping.function])
    for schedule in topology.SCHEDULES:
        resources[invoke_config_id(schedule)] = _invoke_config(schedule)
    for function in functions():
        resources[log_group_id(function)] = _log_group(function)
        resources[policy_id(function)] = _policy(function, stage)
    resources |= identity.resources(stage)
    observed = observability.section(stage)  # alarms, their topic, the dashboard, X-Ray's permissions
    resources |= observed["Resources"]
    clashes = set(resources) & CHALICE_LOGICAL_IDS
    if clashes:
        raise ValueError(f"logical ids would replace Chalice's own resources: {sorted(clashes)}")
    extensions = _chalice_extensions(limits)
    extended = {(logical_id, key) for logical_id, ext in extensions.items() for key in ext["Properties"]}
    extended |= {(logical_id, key) for logical_id, ext in extensions.items() for key in ext if key != "Properties"}
    if extended - CHALICE_EXTENSIONS or any(set(ext) - {"Properties", "DependsOn"} for ext in extensions.values()):
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
    args = parser.parse_args(argv)
    template = render(args.stage)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
