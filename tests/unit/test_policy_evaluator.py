"""The policy check's parts: the permissions a call needs, local names to the stage's, and the IAM evaluator
deciding them against the rendered template (no I/O: the template is rendered in memory)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import topology
from infra import cloudformation as cfn
from tests.policy.iam import ACCOUNT, REGION, STREAM_LABEL, LocalNames, Policy, Resolver, UnsupportedError, function_policies
from tests.policy.recorder import CallRecorder, Permission, function_of_thread, invoked_as, required_permissions

STAGE = "prod"
ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table"


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    template = cfn.render(STAGE)
    return function_policies(template, Resolver(template))


def test_every_function_has_a_policy(policies: dict[str, Policy]) -> None:
    assert set(policies) == set(cfn.functions()) == {"api", "relay", "counters", "deadline_watch", "reconcile_payments",
                                                     "postal", "notifications", "rebuild_counters"}
    assert all(policy.statements for policy in policies.values())


SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"


@pytest.mark.parametrize(
    ("function", "action", "resource", "decision"),
    [
        ("api", "dynamodb:Query", f"{ARN}/dvc-prod-catalogue", "Allow"),
        ("deadline_watch", "dynamodb:Query", f"{ARN}/dvc-prod-catalogue", "Allow"),
        ("deadline_watch", "dynamodb:Scan", f"{ARN}/dvc-prod-catalogue", "ImplicitDeny"),  # the scan it used to make
        ("deadline_watch", "dynamodb:Query", f"{ARN}/dvc-prod-dossiers/index/by_due", "Allow"),
        ("deadline_watch", "dynamodb:Scan", f"{ARN}/dvc-prod-dossiers/index/by_due", "ImplicitDeny"),
        ("deadline_watch", "dynamodb:Query", f"{ARN}/dvc-prod-dossiers/index/by_owner", "ImplicitDeny"),  # not its index
        ("deadline_watch", "dynamodb:PutItem", f"{ARN}/dvc-prod-catalogue", "ImplicitDeny"),  # reads it only
        ("api", "dynamodb:PutItem", f"{ARN}/dvc-dev-dossiers", "ImplicitDeny"),  # another stage's table
        ("relay", "dynamodb:GetRecords", f"{ARN}/dvc-prod-dossiers/stream/{STREAM_LABEL}", "Allow"),
        ("counters", "dynamodb:GetRecords", f"{ARN}/dvc-prod-dossiers/stream/{STREAM_LABEL}", "ImplicitDeny"),
        ("relay", "dynamodb:PutItem", f"{ARN}/dvc-prod-dossiers", "ImplicitDeny"),  # publishes, writes no table
        ("counters", "DynamoDB:getitem", f"{ARN}/dvc-prod-counters", "Allow"),  # actions match case-insensitively
        ("counters", "dynamodb:GetItem", f"{ARN}/dvc-prod-dossiers", "ImplicitDeny"),
        ("relay", "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/dvc-prod-events", "Allow"),
        ("api", "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/dvc-prod-events", "ImplicitDeny"),
        ("relay", "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", "ImplicitDeny"),
        ("deadline_watch", "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-deadline-watch-failures", "Allow"),
        ("relay", "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-deadline-watch-failures", "ImplicitDeny"),
        ("relay", "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-counters", "ImplicitDeny"),
        ("counters", "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-counters", "Allow"),
        ("postal", "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-counters", "ImplicitDeny"),
        ("api", "s3:GetObject", "arn:aws:s3:::dvc-prod-documents/uploads/a/b.pdf", "Allow"),
        ("notifications", "s3:GetObject", "arn:aws:s3:::dvc-prod-documents/uploads/a/b.pdf", "ImplicitDeny"),
        ("api", "s3:DeleteObject", "arn:aws:s3:::dvc-prod-documents/uploads/a/b.pdf", "ImplicitDeny"),
        ("api", "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dvc/prod/jwt-public-key", "Allow"),
        ("api", "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dvc/dev/jwt-public-key", "ImplicitDeny"),
        ("api", "ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dvc/prod/jwt-public-key", "ImplicitDeny"),
        ("reconcile_payments", "dynamodb:Query", f"{ARN}/dvc-prod-dossiers/index/by_pending_payment", "Allow"),
        ("notifications", "sns:Publish", "*", "Allow"),  # SMS to a phone number
        ("api", "sns:Publish", "*", "ImplicitDeny"),
        # the payment gateways' secret (its ARN ends in six random characters), and no other stage's or name's
        ("reconcile_payments", "secretsmanager:GetSecretValue", f"{SECRET}:dvc/prod/payment-gateways-AbC123", "Allow"),
        ("notifications", "secretsmanager:GetSecretValue", f"{SECRET}:dvc/prod/payment-gateways-AbC123", "ImplicitDeny"),
        ("api", "secretsmanager:GetSecretValue", f"{SECRET}:dvc/dev/payment-gateways-AbC123", "ImplicitDeny"),
        ("api", "secretsmanager:GetSecretValue", f"{SECRET}:dvc/prod/payment-gateways-old-AbC123", "ImplicitDeny"),
        ("api", "secretsmanager:PutSecretValue", f"{SECRET}:dvc/prod/payment-gateways-AbC123", "ImplicitDeny"),
    ],
)
def test_the_deployed_policy_decides(policies: dict[str, Policy], function: str, action: str, resource: str,
                                     decision: str) -> None:
    assert policies[function].decide(action, resource) == decision


def test_a_recorded_scan_of_the_local_catalogue_is_denied_in_the_deployed_stage(policies: dict[str, Policy]) -> None:
    (scan,) = required_permissions("dynamodb", "Scan", {"TableName": "dvc-local-catalogue"}, "ap-southeast-1")
    resource = LocalNames("local", STAGE).arn(scan.resource)
    assert resource == f"{ARN}/dvc-prod-catalogue"
    assert policies["deadline_watch"].decide(scan.action, resource) == "ImplicitDeny"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy.from_documents([{"Statement": list(statements)}], Resolver({"Resources": {}}))


def test_an_explicit_deny_wins_and_wildcards_match_as_iam_does() -> None:
    policy = _policy(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/dvc-?-*"},
        {"Effect": "Deny", "Action": ["dynamodb:DeleteItem"], "Resource": "*"},
    )
    assert policy.decide("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/dvc-x-dossiers") == "Allow"
    assert policy.decide("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/dvc-x-dossiers/index/i") == "Allow"
    assert policy.decide("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/dvc-xy-dossiers") == "ImplicitDeny"
    assert policy.decide("dynamodb:DeleteItem", "arn:aws:dynamodb:r:1:table/dvc-x-dossiers") == "ExplicitDeny"
    assert policy.decide("sqs:SendMessage", "arn:aws:sqs:r:1:q") == "ImplicitDeny"
    assert policy.decide("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table.dvc-x-dossiers") == "ImplicitDeny"


def test_what_the_evaluator_does_not_model_raises() -> None:
    with pytest.raises(UnsupportedError):
        _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"x": "y"}}})
    with pytest.raises(UnsupportedError):
        _policy({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"})
    with pytest.raises(UnsupportedError):
        _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::ImportValue": "x"}})


def test_the_resolver_gives_the_template_resources_their_arns() -> None:
    template = cfn.render(STAGE)
    resolver = Resolver(template)
    dossiers = cfn.table_id(topology.DOSSIERS)
    assert resolver.resolve({"Fn::GetAtt": [dossiers, "Arn"]}) == f"{ARN}/dvc-prod-dossiers"
    assert resolver.resolve({"Fn::GetAtt": [dossiers, "StreamArn"]}) == f"{ARN}/dvc-prod-dossiers/stream/{STREAM_LABEL}"
    assert resolver.resolve({"Fn::Sub": f"${{{dossiers}.Arn}}/index/*"}) == f"{ARN}/dvc-prod-dossiers/index/*"
    assert resolver.resolve(cfn.parameter_arn(topology.JWT_KEY_PARAMETER, STAGE)) == (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dvc/prod/jwt-public-key"
    )
    bucket = cfn.bucket_id(topology.DOCUMENTS_BUCKET)
    assert resolver.resolve({"Fn::Sub": f"${{{bucket}.Arn}}/*"}) == "arn:aws:s3:::dvc-prod-documents/*"
    assert resolver.resolve({"Ref": cfn.queue_id(topology.COUNTERS_QUEUE)}).endswith(f"/{ACCOUNT}/dvc-prod-counters")
    with pytest.raises(UnsupportedError):
        resolver.resolve({"Fn::GetAtt": ["APIHandler", "Arn"]})  # Chalice's, not in this template


def test_a_transaction_needs_each_item_action_on_each_items_table() -> None:
    items = [
        {"Put": {"TableName": "dvc-local-dossiers", "Item": {}}},
        {"Update": {"TableName": "dvc-local-dossiers", "Key": {}}},
        {"ConditionCheck": {"TableName": "dvc-local-catalogue", "Key": {}}},
        {"Delete": {"TableName": "dvc-local-counters", "Key": {}}},
    ]
    needed = required_permissions("dynamodb", "TransactWriteItems", {"TransactItems": items}, "r")
    table = "arn:aws:dynamodb:r:000000000000:table"
    assert needed == [
        Permission("dynamodb:PutItem", f"{table}/dvc-local-dossiers"),
        Permission("dynamodb:UpdateItem", f"{table}/dvc-local-dossiers"),
        Permission("dynamodb:ConditionCheckItem", f"{table}/dvc-local-catalogue"),
        Permission("dynamodb:DeleteItem", f"{table}/dvc-local-counters"),
    ]
    gets = required_permissions("dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "t"}}]}, "r")
    assert gets == [Permission("dynamodb:GetItem", f"{table}/t")]
    batch = required_permissions("dynamodb", "BatchWriteItem", {"RequestItems": {"a": [], "b": []}}, "r")
    assert batch == [Permission("dynamodb:BatchWriteItem", f"{table}/a"), Permission("dynamodb:BatchWriteItem", f"{table}/b")]
    query = required_permissions("dynamodb", "Query", {"TableName": "a", "IndexName": "by_due"}, "r")
    assert query == [Permission("dynamodb:Query", f"{table}/a/index/by_due")]


def test_other_services_name_the_resources_iam_checks() -> None:
    stream = "arn:aws:dynamodb:ddblocal:000000000000:table/dvc-local-dossiers/stream/2026-11-10T00:00:00.000"
    assert required_permissions("dynamodbstreams", "GetRecords", {"ShardIterator": f"{stream}|1|AAAA"}, "r") == [
        Permission("dynamodb:GetRecords", stream)
    ]
    assert required_permissions("dynamodbstreams", "GetRecords", {"ShardIterator": "opaque"}, "r") == [
        Permission("dynamodb:GetRecords", "*")  # unknown: "*", which no statement of ours allows
    ]
    entries = [{"EventBusName": "dvc-local-events"}, {"EventBusName": "dvc-local-events"}, {}]
    assert required_permissions("events", "PutEvents", {"Entries": entries}, "r") == [
        Permission("events:PutEvents", "arn:aws:events:r:000000000000:event-bus/dvc-local-events"),
        Permission("events:PutEvents", "arn:aws:events:r:000000000000:event-bus/default"),
    ]
    url = "http://127.0.0.1:4566/123456789012/dvc-local-counters"
    assert required_permissions("sqs", "DeleteMessageBatch", {"QueueUrl": url, "Entries": []}, "r") == [
        Permission("sqs:DeleteMessage", "arn:aws:sqs:r:123456789012:dvc-local-counters")
    ]
    assert required_permissions("s3", "HeadObject", {"Bucket": "b", "Key": "k/1"}, "r") == [
        Permission("s3:GetObject", "arn:aws:s3:::b/k/1")
    ]
    assert required_permissions("ssm", "GetParameter", {"Name": "/dvc/local/jwt-public-key"}, "r") == [
        Permission("ssm:GetParameter", "arn:aws:ssm:r:000000000000:parameter/dvc/local/jwt-public-key")
    ]


def test_local_names_become_the_stages_and_unknown_names_stay() -> None:
    names = LocalNames("local", STAGE)
    stream = "arn:aws:dynamodb:ddblocal:000000000000:table/dvc-local-dossiers/stream/2026-11-10T00:00:00.000"
    assert names.arn(stream) == f"{ARN}/dvc-prod-dossiers/stream/{STREAM_LABEL}"
    assert names.arn("arn:aws:sqs:r:123456789012:dvc-local-counters-dlq") == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:dvc-prod-counters-dlq"
    )
    assert names.arn("arn:aws:events:r:1:event-bus/dvc-local-events") == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/dvc-prod-events"
    )
    assert names.arn("arn:aws:s3:::dvc-local-documents/a/b") == "arn:aws:s3:::dvc-prod-documents/a/b"
    assert names.arn("arn:aws:ssm:r:1:parameter/dvc/local/jwt-public-key") == (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/dvc/prod/jwt-public-key"
    )
    assert names.arn("arn:aws:dynamodb:r:1:table/someone-elses") == f"{ARN}/someone-elses"
    assert names.arn("*") == "*"


@pytest.mark.parametrize(
    ("thread", "function"),
    [
        ("stream:relay", "relay"),
        ("queue:counters", "counters"),
        ("queue:recorder", None),  # a poller a test of the runner starts for a handler of its own
        ("Thread-7 (process_request_thread)", "api"),
        ("MainThread", None),
        ("ThreadPoolExecutor-0_1", None),
        ("http", None),
    ],
)
def test_calls_are_attributed_by_thread(thread: str, function: str | None) -> None:
    assert function_of_thread(thread) == function


def test_the_recorder_sees_client_calls_and_presigned_urls_of_the_function_in_play() -> None:
    sqs = boto3.client("sqs", region_name="ap-southeast-1", aws_access_key_id="k", aws_secret_access_key="s")
    s3 = boto3.client("s3", region_name="ap-southeast-1", aws_access_key_id="k", aws_secret_access_key="s")
    url = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/dvc-local-relay-failures"
    with CallRecorder().installed() as recorder, Stubber(sqs) as stub:
        stub.add_response("send_message", {"MessageId": "m", "MD5OfMessageBody": "d"}, {"QueueUrl": url, "MessageBody": "x"})
        sqs.send_message(QueueUrl=url, MessageBody="x")  # by no function: counted, not checked
        with invoked_as("recorder-test"):
            stub.add_response("send_message", {"MessageId": "m", "MD5OfMessageBody": "d"}, {"QueueUrl": url, "MessageBody": "y"})
            sqs.send_message(QueueUrl=url, MessageBody="y")
            s3.generate_presigned_url("put_object", Params={"Bucket": "dvc-local-documents", "Key": "u/1"})
    mine = [call for call in recorder.calls if call.function == "recorder-test"]
    queue_arn = "arn:aws:sqs:ap-southeast-1:123456789012:dvc-local-relay-failures"
    assert [(c.service, c.operation, c.permissions) for c in mine] == [
        ("sqs", "SendMessage", (Permission("sqs:SendMessage", queue_arn),)),
        ("s3", "PutObject", (Permission("s3:PutObject", "arn:aws:s3:::dvc-local-documents/u/1"),)),
    ]
    assert recorder.unattributed["sqs.SendMessage"] >= 1 and not recorder.errors
