"""What functions ask of AWS while they run, in billing units: a recorder for `make bench`'s cost section.

Calls are attributed to functions by thread with the policy check's own rule (`tests.policy.recorder.current_function`);
that recorder's hook sees requests only, and billing needs the answers (consumed capacity, messages received), hence
one wrapper around `BaseClient._make_api_call`, which botocore's and pynamodb's clients both go through. DynamoDB
requests are asked to return their consumed capacity (DynamoDB Local reports it as DynamoDB does: transactions count
double, index writes count); a write refused by its condition is billed but reports nothing, so it is estimated.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from chalicelib import topology
from infra.local.event_sources import matches
from infra.local.stack import STAGE

CHUNK = 64 * 1024  # EventBridge and SQS bill each 64 KB of a request as one

# The time an AWS request takes from a Lambda in the region (assumption: single-digit ms for an item, more for a
# transaction), standing in for what the same request waited on DynamoDB Local and moto on this shared machine.
AWS_REQUEST_MS = 10.0
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def chunks(size: int) -> int:
    return max(1, math.ceil(size / CHUNK))


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge meters it: time (14 bytes if given), source, detail type, detail, resources."""
    return (14 if entry.get("Time") else 0) + sum(
        len(str(entry.get(name, "")).encode()) for name in ("Source", "DetailType", "Detail")
    ) + sum(len(r.encode()) for r in entry.get("Resources", []))


def rules_matched(entry: dict[str, Any]) -> int:
    """How many of the bus's rules deliver this entry (each delivery is an SQS SendMessage)."""
    event = {"source": entry.get("Source"), "detail-type": entry.get("DetailType")}
    return sum(1 for rule in topology.RULES if matches(rule.pattern, event))


def _logical(table: str) -> str:
    return next((t.logical for t in topology.TABLES if t.physical(STAGE) == table), table)


def _dev_outbox(operation: str, params: dict[str, Any]) -> bool:
    from chalicelib.store.models import DevOutboxModel

    return operation == "PutItem" and params.get("Item", {}).get("pk", {}).get("S") == DevOutboxModel.pk.default


def _failed_write_units(operation: str, params: dict[str, Any]) -> float:
    if operation == "TransactWriteItems":
        return 2.0 * len(params["TransactItems"])
    if operation == "BatchWriteItem":
        return float(sum(len(requests) for requests in params["RequestItems"].values()))
    return 1.0


@dataclass
class Usage:
    """What the functions asked of AWS while it was being recorded."""

    write_units: Counter[str] = field(default_factory=Counter)  # by table (logical name)
    read_units: Counter[str] = field(default_factory=Counter)
    failed_write_units: float = 0.0  # estimated: refused writes report no consumed capacity
    dynamodb_requests: Counter[str] = field(default_factory=Counter)
    stream_requests: int = 0
    entries: int = 0
    entry_chunks: int = 0
    entry_bytes: int = 0
    deliveries: int = 0  # SQS SendMessage requests EventBridge makes for the rules
    delivery_chunks: int = 0
    sqs_requests: Counter[str] = field(default_factory=Counter)  # chunks by operation, the consumers' own
    idle_receives: int = 0
    other: Counter[str] = field(default_factory=Counter)  # "ses.SendEmail", "sns.Publish", ...
    routes: Counter[str] = field(default_factory=Counter)  # the API's requests by method and route
    # (function, service.operation, table) -> [requests, capacity units, ms waited]: where the figures come from (the log)
    detail: defaultdict[tuple[str, str, str], list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0, 0.0]))
    local_only: int = 0  # writes of the local stage's dev outbox, which no deployed stage makes
    durations_ms: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # per invocation: its time with what it waited on local engines replaced by AWS_REQUEST_MS a request
    estimated_ms: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, service: str, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        with self._lock:
            if service == "dynamodb":
                if _dev_outbox(operation, params):
                    self.local_only += 1
                    return
                self.dynamodb_requests[operation] += 1
                consumed = response.get("ConsumedCapacity") or []
                for used in consumed if isinstance(consumed, list) else [consumed]:
                    units = self.write_units if operation in WRITES else self.read_units
                    units[_logical(used.get("TableName", "?"))] += used.get("CapacityUnits", 0.0)
            elif service == "dynamodbstreams":
                self.stream_requests += 1
            elif service == "events" and operation == "PutEvents":
                for entry in params["Entries"]:
                    size = entry_size(entry)
                    self.entries += 1
                    self.entry_chunks += chunks(size)
                    self.entry_bytes += size
                    fanout = rules_matched(entry)
                    self.deliveries += fanout
                    self.delivery_chunks += fanout * chunks(size + 512)  # the rule's envelope around the detail
            elif service == "sqs":
                self._sqs(operation, params, response)
            else:
                self.other[f"{service}.{operation}"] += 1

    def _sqs(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if operation == "ChangeMessageVisibility":
            return  # the local runner's quick retry; AWS's mapping lets the visibility timeout run out instead
        if operation == "ReceiveMessage":
            messages = response.get("Messages", [])
            if not messages:
                self.idle_receives += 1
                return
            size = sum(len(m.get("Body", "").encode()) for m in messages)
        else:
            bodies = [params.get("MessageBody", "")] + [e.get("MessageBody", "") for e in params.get("Entries", [])]
            size = sum(len(b.encode()) for b in bodies)
        self.sqs_requests[operation] += chunks(size)

    def refused(self, service: str, operation: str, params: dict[str, Any]) -> None:
        with self._lock:
            if service == "dynamodb":
                self.dynamodb_requests[operation] += 1
                if operation in WRITES:
                    self.failed_write_units += _failed_write_units(operation, params)
            elif service == "dynamodbstreams":
                self.stream_requests += 1  # the local engine's expired iterators: renewed and read again
            else:
                self.other[f"{service}.{operation} (refused)"] += 1

    def detailed(self, function: str, service: str, operation: str, params: dict[str, Any], response: dict[str, Any],
                 start: float) -> None:
        consumed = response.get("ConsumedCapacity") or []
        tables = [c.get("TableName", "?") for c in (consumed if isinstance(consumed, list) else [consumed])]
        table = _logical(tables[0] if len(tables) == 1 else params.get("TableName", "*"))
        with self._lock:
            row = self.detail[(function, f"{service}.{operation}" + ("" if response else " refused"), table)]
            row[0] += 1
            row[1] += sum(c.get("CapacityUnits", 0.0) for c in (consumed if isinstance(consumed, list) else [consumed]))
            row[2] += (time.perf_counter() - start) * 1000

    def invoked(self, function: str, elapsed_ms: float, waited: Waited) -> None:
        with self._lock:
            self.durations_ms[function].append(elapsed_ms)
            self.estimated_ms[function].append(elapsed_ms - waited.ms + waited.requests * AWS_REQUEST_MS)

    def fingerprint(self) -> tuple[int, ...]:
        """Changes whenever anything is recorded (to tell when the system has gone quiet)."""
        with self._lock:
            return (sum(self.dynamodb_requests.values()), self.entries, sum(self.sqs_requests.values()),
                    sum(map(len, self.durations_ms.values())), sum(self.other.values()))


# --- recording ---------------------------------------------------------------------------------------------------


@dataclass
class Waited:
    """What one invocation waited on AWS requests (in its own thread)."""

    requests: int = 0
    ms: float = 0.0


_invocation = threading.local()  # .waited: the Waited of the invocation running in this thread, if any

_recording: list[Usage] = []
_original_call: Callable[..., Any] = BaseClient._make_api_call


def _observed_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
    from tests.policy.recorder import current_function

    usage = _recording[-1] if _recording else None
    if usage is None or current_function() is None:  # setup, the bench's own probes: no function's request
        return _original_call(client, operation, params)
    service = client.meta.service_model.service_name
    measurable = service == "dynamodb" and (operation in READS or operation in WRITES)
    if measurable and params.get("ReturnConsumedCapacity", "NONE") == "NONE":
        params = {**params, "ReturnConsumedCapacity": "TOTAL"}
    start = time.perf_counter()
    try:
        response = _original_call(client, operation, params)
    except ClientError:
        usage.refused(service, operation, params)
        usage.detailed(current_function() or "?", service, operation, params, {}, start)
        raise
    usage.record(service, operation, params, response)
    usage.detailed(current_function() or "?", service, operation, params, response, start)
    waited = getattr(_invocation, "waited", None)
    if waited is not None:
        waited.requests += 1
        waited.ms += (time.perf_counter() - start) * 1000
    return response


@contextmanager
def recording(usage: Usage) -> Iterator[Usage]:
    if not _recording:
        BaseClient._make_api_call = _observed_call
    _recording.append(usage)
    try:
        yield usage
    finally:
        _recording.remove(usage)
        if not _recording:
            BaseClient._make_api_call = _original_call


@contextmanager
def invocation(function: str, usage: Usage) -> Iterator[None]:
    """Time the block as one invocation of `function`, with what it waited on AWS requests."""
    _invocation.waited = waited = Waited()
    start = time.perf_counter()
    try:
        yield
    finally:
        _invocation.waited = None
        usage.invoked(function, (time.perf_counter() - start) * 1000, waited)


def timed(function: str, handler: Callable[[Any, Any], Any], usage: Usage) -> Callable[[Any, Any], Any]:
    """`handler`, each call timed as an invocation of `function`."""
    def run(event: Any, context: Any) -> Any:
        with invocation(function, usage):
            return handler(event, context)
    return run
