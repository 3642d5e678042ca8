"""Records the AWS calls the test suite makes, per Lambda function, as the IAM permissions each call needs.

A call is attributed to the function whose code made it, by thread: the local stack's event-source pollers run in
threads named `stream:{function}` and `queue:{function}` (and make the stream and queue reads AWS's event-source
mapping makes with the function's role; pollers a test starts for handlers of its own are ignored), the Chalice
local server answers each request in a `process_request_thread` (the API handler), and a test that invokes a
handler directly says which function it plays with `invoked_as`. Calls from anywhere else (provisioning, seeding,
test setup) belong to no function and are only counted.

The hook wraps botocore's `BaseClient._emit_api_params`, which every client runs for every call and for every
presigned URL (pynamodb builds its own botocore session and clients, so a session event would miss it); a presigned
URL is the permission it carries, used later by whoever holds it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.client import BaseClient

from infra.cloudformation import API_FUNCTION, functions

RECORDED_SERVICES = frozenset({"dynamodb", "dynamodbstreams", "events", "sqs", "s3", "ssm", "sns", "ses"})
# Calls the local event-source runner makes where AWS's mappings make none: not the function's permissions.
LOCAL_ONLY = {
    ("sqs", "ChangeMessageVisibility"): "the queue poller's quick retry of a failed message (a documented local liberty)",
}
# The account of ARNs built from names alone; the policy check rewrites account, region and names anyway.
RECORDED_ACCOUNT = "000000000000"

_acting_as: ContextVar[str | None] = ContextVar("acting_as", default=None)


@dataclass(frozen=True)
class Permission:
    action: str  # e.g. dynamodb:PutItem
    resource: str  # an ARN


@dataclass(frozen=True)
class Call:
    function: str
    service: str
    operation: str
    permissions: tuple[Permission, ...]


@contextmanager
def invoked_as(function: str) -> Iterator[None]:
    """Attribute the calls made inside the block (in this thread) to `function`, as if Lambda ran it."""
    token = _acting_as.set(function)
    try:
        yield
    finally:
        _acting_as.reset(token)


def function_of_thread(name: str) -> str | None:
    kind, _, function = name.partition(":")
    function = re.sub(r"_[0-9]+$", "", function)  # a worker thread the function started: `{its thread's name}_{n}`
    if kind in ("stream", "queue") and function:
        # Tests of the runner itself start pollers for handlers of their own: those are no function of the app.
        return function if function in functions() else None
    if "process_request_thread" in name:  # socketserver.ThreadingMixIn names each request's thread so
        return API_FUNCTION
    return None


def current_function() -> str | None:
    return _acting_as.get() or function_of_thread(threading.current_thread().name)


# --- the permissions a call needs ------------------------------------------------------------------------------


def _table_arn(table: str, region: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{RECORDED_ACCOUNT}:table/{table}"


_TRANSACT_WRITE_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _dynamodb(operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    # IAM knows no TransactWriteItems/TransactGetItems action: it checks each item's own action on its table.
    if operation == "TransactWriteItems":
        return [
            Permission(_TRANSACT_WRITE_ACTIONS[kind], _table_arn(body["TableName"], region))
            for item in params["TransactItems"]
            for kind, body in item.items()
        ]
    if operation == "TransactGetItems":
        return [Permission("dynamodb:GetItem", _table_arn(item["Get"]["TableName"], region)) for item in params["TransactItems"]]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return [Permission(f"dynamodb:{operation}", _table_arn(table, region)) for table in params["RequestItems"]]
    if "TableName" not in params:
        return [Permission(f"dynamodb:{operation}", "*")]  # ListTables and friends act on no table
    resource = _table_arn(params["TableName"], region)
    if params.get("IndexName"):
        resource = f"{resource}/index/{params['IndexName']}"
    return [Permission(f"dynamodb:{operation}", resource)]


def _stream(operation: str, params: dict[str, Any]) -> list[Permission]:
    # GetRecords names only a shard iterator; DynamoDB's (and DynamoDB Local's) begin with the stream ARN.
    arn = params.get("StreamArn") or str(params.get("ShardIterator", "")).split("|")[0]
    return [Permission(f"dynamodb:{operation}", arn if arn.startswith("arn:") else "*")]


def _events(operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    if operation != "PutEvents":
        return [Permission(f"events:{operation}", "*")]
    buses = [entry.get("EventBusName") or "default" for entry in params["Entries"]]
    arn = f"arn:aws:events:{region}:{RECORDED_ACCOUNT}:event-bus/"
    return [Permission("events:PutEvents", bus if bus.startswith("arn:") else arn + bus) for bus in dict.fromkeys(buses)]


_SQS_ACTIONS = {  # batch operations are authorised by the action of one message
    "DeleteMessageBatch": "DeleteMessage",
    "SendMessageBatch": "SendMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def queue_arn_from_url(url: str, region: str) -> str:
    """`https://sqs.{region}.amazonaws.com/{account}/{name}` (moto: `http://127.0.0.1:port/{account}/{name}`)."""
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _sqs(operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    action = f"sqs:{_SQS_ACTIONS.get(operation, operation)}"
    if "QueueUrl" in params:
        return [Permission(action, queue_arn_from_url(params["QueueUrl"], region))]
    if "QueueName" in params:
        return [Permission(action, f"arn:aws:sqs:{region}:{RECORDED_ACCOUNT}:{params['QueueName']}")]
    return [Permission(action, "*")]


_S3_ACTIONS = {  # operations IAM authorises with another operation's action
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "DeleteObjects": "DeleteObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListBuckets": "ListAllMyBuckets",
}


def _s3(operation: str, params: dict[str, Any]) -> list[Permission]:
    action = f"s3:{_S3_ACTIONS.get(operation, operation)}"
    bucket = params.get("Bucket")
    if bucket is None:
        return [Permission(action, "*")]
    if operation == "DeleteObjects":
        return [Permission(action, f"arn:aws:s3:::{bucket}/{o['Key']}") for o in params["Delete"]["Objects"]]
    permissions = [Permission(action, f"arn:aws:s3:::{bucket}/{params['Key']}" if "Key" in params else f"arn:aws:s3:::{bucket}")]
    if operation == "CopyObject":
        source = params["CopySource"]
        source_path = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else source.lstrip("/").split("?")[0]
        permissions.append(Permission("s3:GetObject", f"arn:aws:s3:::{source_path}"))
    return permissions


def _parameter_arn(name: str, region: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:ssm:{region}:{RECORDED_ACCOUNT}:parameter{name if name.startswith('/') else '/' + name}"


def _ssm(operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    names = params.get("Names") or [params[key] for key in ("Name", "Path") if key in params]
    if not names:
        return [Permission(f"ssm:{operation}", "*")]
    return [Permission(f"ssm:{operation}", _parameter_arn(name, region)) for name in names]


def _sns(operation: str, params: dict[str, Any]) -> list[Permission]:
    # A Publish to a phone number names no resource: IAM checks it against "*".
    return [Permission(f"sns:{operation}", str(params.get("TopicArn") or params.get("TargetArn") or "*"))]


def _ses(operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    # SendEmail is authorised on the sending identity: the Source's domain (or the address itself, if verified alone).
    domain = str(params.get("Source", "")).rpartition("@")[2]
    identity = f"arn:aws:ses:{region}:{RECORDED_ACCOUNT}:identity/{domain}" if domain else "*"
    return [Permission(f"ses:{operation}", identity)]


def required_permissions(service: str, operation: str, params: dict[str, Any], region: str) -> list[Permission]:
    """What IAM checks for one call: an action on each resource it touches ("*" where the call names none)."""
    if service == "dynamodb":
        return _dynamodb(operation, params, region)
    if service == "dynamodbstreams":
        return _stream(operation, params)
    if service == "events":
        return _events(operation, params, region)
    if service == "sqs":
        return _sqs(operation, params, region)
    if service == "s3":
        return _s3(operation, params)
    if service == "ssm":
        return _ssm(operation, params, region)
    if service == "sns":
        return _sns(operation, params)
    if service == "ses":
        return _ses(operation, params, region)
    raise ValueError(f"not a recorded service: {service}")


# --- the recorder ----------------------------------------------------------------------------------------------


class CallRecorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.unattributed: Counter[str] = Counter()  # "service.Operation" made by no function
        self.local_only: Counter[str] = Counter()
        self.errors: list[str] = []  # calls the recorder could not read: the policy check fails on any
        self._lock = threading.Lock()

    def record(self, service: str, operation: str, params: dict[str, Any], region: str) -> None:
        if service not in RECORDED_SERVICES:
            return
        function = current_function()
        key = f"{service}.{operation}"
        with self._lock:
            if function is None:
                self.unattributed[key] += 1
            elif (service, operation) in LOCAL_ONLY:
                self.local_only[key] += 1
            else:
                permissions = tuple(required_permissions(service, operation, params, region))
                self.calls.append(Call(function, service, operation, permissions))

    def functions_seen(self) -> set[str]:
        with self._lock:
            return {call.function for call in self.calls}

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Record every call made while the block runs, from any thread. Recorders nest: calls go to the innermost
        one only, so a test of the recorder adds nothing to the session's record."""
        if not _installed:
            _hook()
        _installed.append(self)
        try:
            yield self
        finally:
            _installed.remove(self)
            if not _installed:
                _unhook()


_installed: list[CallRecorder] = []
_original_emit: Callable[..., Any] = BaseClient._emit_api_params


def _emit_and_record(client: BaseClient, api_params: Any, operation_model: Any, context: Any) -> Any:
    params = _original_emit(client, api_params=api_params, operation_model=operation_model, context=context)
    recorders = list(_installed)
    if recorders:
        try:
            recorders[-1].record(
                client.meta.service_model.service_name, operation_model.name, params, client.meta.region_name
            )
        except Exception as exc:  # never fail the application's call; the policy check reports it instead
            recorders[-1].errors.append(f"{operation_model.name}: {exc!r}")
    return params


def _hook() -> None:
    BaseClient._emit_api_params = _emit_and_record


def _unhook() -> None:
    BaseClient._emit_api_params = _original_emit
