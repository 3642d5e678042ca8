"""`make bench`'s cost section: what one dossier's whole life asks of AWS, by service and billing unit, and its price.

`LIFE` typical dossiers go, one after another, through the steps below on a local stack of their own (HTTP, every
event source, the payment and messaging sandboxes); every AWS request the functions make meanwhile is counted with
what it is billed by, and divided by the number of dossiers:
- DynamoDB: write and read request units as DynamoDB Local reports them (`ReturnConsumedCapacity`, added to each of
  the app's requests: transactions count double, index writes count); a write refused by its condition is billed
  too but reports nothing, so it is estimated (1 unit an item, 2 in a transaction). Stream reads by the relay's
  mapping are free on AWS and only counted.
- EventBridge: PutEvents entries in 64 KB chunks, and one SQS SendMessage per rule an entry matches (the rules'
  patterns from `chalicelib.topology`, matched as the local stack matches them), which EventBridge makes on AWS.
- SQS: every request the consumers' mappings make (receives that brought messages, deletes) in 64 KB chunks; empty
  long polls are a mapping's fixed cost per queue, not a dossier's, and are printed apart.
- Lambda: invocations per function (each HTTP request is one API Gateway request and one invocation of the API
  function; the consumers' invocations depend on how full their batches are, so on the rate: here one dossier at a
  time), and GB-seconds from each invocation's measured time (rounded up to the millisecond, as billed) at the
  stage's configured memory.
Calls are attributed to functions by thread with the policy check's own rule (`tests.policy.recorder.current_function`);
that recorder's hook sees requests only, and billing needs the answers (consumed capacity, messages received), hence
one wrapper around `BaseClient._make_api_call`, which botocore's and pynamodb's clients both go through.

Its own process (`python -m bench.dossier_life [N]`, which `bench.run` starts last): the local stream poller reads
the stream from its start, and in the other sections' process it would relay their thousands of submissions again.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from bench import prices
from bench.measure import Table, quiet, warnings_only
from chalicelib import topology
from infra.cloudformation import API_FUNCTION
from infra.local.event_sources import matches
from infra.local.processes import ROOT
from infra.local.stack import STAGE

LIFE = 30  # dossiers
PROCEDURE = "2.000635"  # full online, 8,000 VND charged at filing, result delivered online
STEPS = (
    "citizen: POST /v1/dossiers (online, result online)",
    "citizen: POST /v1/dossiers/{id}/payments (VNPay), pays on the sandbox's page: its IPN and return page reach the API",
    "officer: GET /v1/agencies/{agency}/dossiers, GET /v1/dossiers/{id}",
    "officer: receive, start-processing, approve, mark-result-ready, return-result (online)",
    "citizen: GET /v1/dossiers/{id}, GET /v1/me/notifications",
    "meanwhile: relay, counters, notifications (and their providers' delivery receipts to the API), postal if asked",
)
STAGE_PRICED = "prod"  # whose memory sizes the GB-seconds are computed at
CHUNK = 64 * 1024  # EventBridge and SQS bill each 64 KB of a request as one
LOG = ROOT / ".local" / "logs" / "bench-dossier-life.log"

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


def memory_mb(function: str, stage: str = STAGE_PRICED) -> int:
    """The memory `chalice package` gives `function` in `stage` (its own setting, else the stage's, else 128)."""
    from chalice.config import Config

    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    name = "api_handler" if function == API_FUNCTION else function
    size = Config(chalice_stage=stage, function_name=name, config_from_disk=config).lambda_memory_size
    return int(size or 128)


# --- the lives -----------------------------------------------------------------------------------------------------


def live(api: Any, citizen: str, officer: str, agency: str) -> None:
    """One dossier through `STEPS`."""
    from tests.support import submission

    def ok(reply: Any, status: int = 200) -> Any:
        assert reply.status == status, reply.body
        return reply.body

    dossier = ok(api.call("POST", "/v1/dossiers", submission(PROCEDURE, agency), token=citizen), 201)
    path = f"/v1/dossiers/{dossier['id']}"
    payment = ok(api.call("POST", f"{path}/payments", {"gateway": "vnpay"}, token=citizen), 201)
    with urllib.request.urlopen(payment["payment_url"], timeout=30) as page:  # the payer's browser, back to our page
        assert page.status == 200
    ok(api.call("GET", f"/v1/agencies/{agency}/dossiers", token=officer))
    version = ok(api.call("GET", path, token=officer))["version"]
    for action, extra in (("receive", {}), ("start-processing", {}), ("approve", {}),
                          ("mark-result-ready", {"result_reference": "TL-1/2026"}), ("return-result", {"via": "online"})):
        reply = api.call("POST", f"{path}/actions/{action}", {"expected_version": version, **extra}, token=officer)
        version = ok(reply)["version"]
    ok(api.call("GET", path, token=citizen))
    ok(api.call("GET", "/v1/me/notifications", token=citizen))


def measure(stack: Any, n: int, table: Table) -> Usage:
    """`n` lives on `stack` (started with HTTP, event sources and sandboxes), recorded; waits until all is quiet."""
    from app import app
    from infra.seed import agencies
    from tests.support import Api

    api = Api(stack.api_url)
    communes = [a.code for a in agencies(stack.config.province_code) if a.kind == "commune"]
    people = [(api.token("citizen", sub=f"bench-life-{i}"), api.token("officer", agency=communes[i % len(communes)]),
               communes[i % len(communes)]) for i in range(n)]  # minted before recording: not a dossier's requests
    usage = Usage()
    for poller in stack.pollers:
        function = poller.name.partition(":")[2]
        poller.handler = timed(function, poller.handler, usage)

    def api_timer(event: Any, get_response: Callable[[Any], Any]) -> Any:
        usage.routes[f"{event.method} {(event.context or {}).get('resourcePath', '?')}"] += 1
        with invocation(API_FUNCTION, usage):
            return get_response(event)

    app.register_middleware(api_timer, "http")
    sqs = stack.client("sqs")
    queues = [stack.resources.queue_urls[m.queue.logical] for m in topology.QUEUE_MAPPINGS]

    def backlog() -> int:
        return sum(int(v) for url in queues for k, v in sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"].items())

    with recording(usage):
        start = time.perf_counter()
        for citizen, officer, agency in people:
            live(api, citizen, officer, agency)
        lives_s = time.perf_counter() - start
        stack.payments.wait_for_deliveries(n, timeout_s=30)
        quiet_since, last = time.monotonic(), usage.fingerprint()
        while time.monotonic() - quiet_since < 3 or backlog():  # nothing new for 3 s and every queue drained
            time.sleep(0.25)
            if usage.fingerprint() != last:
                quiet_since, last = time.monotonic(), usage.fingerprint()
    table.line(f"(the {n} lives took {lives_s:.1f} s, one after another, plus the pipeline's tail)")
    return usage


# --- the figures ---------------------------------------------------------------------------------------------------


def gb_seconds(durations_ms: dict[str, list[float]], memory: Callable[[str], int] = memory_mb) -> float:
    """Lambda's billed compute: each invocation's time rounded up to the millisecond, at its function's memory."""
    return sum(math.ceil(ms) / 1000 * memory(f) / 1024 for f, durations in durations_ms.items() for ms in durations)


@dataclass(frozen=True)
class PerDossier:
    """Per dossier: the billed quantities, and what a million dossiers cost at `prices`."""

    quantities: dict[str, float]  # name -> quantity per dossier
    costs: dict[str, float]  # name -> USD per 1M dossiers


def per_dossier(usage: Usage, n: int, memory: Callable[[str], int] = memory_mb) -> PerDossier:
    invocations = {f: len(d) for f, d in usage.durations_ms.items()}
    gb_s = gb_seconds(usage.estimated_ms, memory)
    q = {
        "api_requests": invocations.get(API_FUNCTION, 0) / n,
        "invocations": sum(invocations.values()) / n,
        "gb_seconds": gb_s / n,
        "wru": (sum(usage.write_units.values()) + usage.failed_write_units) / n,
        "rru": sum(usage.read_units.values()) / n,
        "events": usage.entry_chunks / n,
        "archive_gb": usage.entry_bytes / n / 1024**3,
        "sqs_requests": (usage.deliveries + sum(usage.sqs_requests.values())) / n,
        "emails": usage.other.get("ses.SendEmail", 0) / n,
        "log_gb": sum(invocations.values()) / n * prices.LOG_BYTES_PER_INVOCATION / 1024**3,
    }
    priced = {"api_requests": prices.API_GATEWAY_REST, "invocations": prices.LAMBDA_REQUEST,
              "gb_seconds": prices.LAMBDA_GB_SECOND, "wru": prices.DYNAMODB_WRU, "rru": prices.DYNAMODB_RRU,
              "events": prices.EVENTBRIDGE_EVENT, "archive_gb": prices.EVENTBRIDGE_ARCHIVE_GB,
              "sqs_requests": prices.SQS_REQUEST, "emails": prices.SES_EMAIL, "log_gb": prices.LOGS_GB}
    return PerDossier(q, {name: priced[name].of(value * 1e6) for name, value in q.items()})


def report(usage: Usage, n: int, table: Table) -> PerDossier:
    """Five lines in the summary; the breakdowns behind them (by route, by function and request) in the log."""
    figures = per_dossier(usage, n)
    q, cost = figures.quantities, figures.costs
    mean = statistics.mean
    invocations = "  ".join(f"{f} {len(d) / n:.2f} ({mean(d):.0f} ms; here {mean(usage.durations_ms[f]):.0f})"
                            for f, d in sorted(usage.estimated_ms.items()))
    memories = ", ".join(sorted({f"{memory_mb(f)} MB" for f in usage.durations_ms}))
    table.line(f"Per dossier, its whole life (n={n}, one at a time; the steps: bench/dossier_life.py):")
    table.line(f"  API Gateway requests {q['api_requests']:.2f}   Lambda invocations {q['invocations']:.2f}: {invocations}")
    table.line(f"  Lambda GB-s {q['gb_seconds']:.3f} at {memories} (each AWS request taken as {AWS_REQUEST_MS:.0f} ms; "
               f"as measured on the local engines: {gb_seconds(usage.durations_ms) / n:.3f})")
    by_table = "  ".join(f"{t} {u / n:.1f}/{usage.read_units[t] / n:.1f}" for t, u in usage.write_units.most_common())
    table.line(f"  DynamoDB WRU {q['wru']:.2f} (refused writes, estimated: {usage.failed_write_units / n:.2f})   "
               f"RRU {q['rru']:.2f}   WRU/RRU by table: {by_table}   stream reads {usage.stream_requests / n:.1f} (free)")
    sqs = "  ".join(f"{op} {c / n:.2f}" for op, c in sorted(usage.sqs_requests.items()))
    others = "  ".join(f"{k} {v / n:.2f}" for k, v in sorted(usage.other.items()))
    table.line(f"  EventBridge events {q['events']:.2f} ({usage.entry_bytes / max(usage.entries, 1):.0f} B each)   "
               f"SQS requests {q['sqs_requests']:.2f}: from rules {usage.deliveries / n:.2f}  {sqs}   {others}")
    parts = "  ".join(f"{name} {usd:,.2f}" for name, usd in sorted(cost.items(), key=lambda kv: -kv[1]))
    table.line(f"AWS per 1M dossiers, {prices.REGION} list prices (bench/prices.py; SMS excluded): "
               f"${sum(cost.values()):,.0f}   ({parts})")
    print(f"Per dossier: API requests by route (n={n}): "
          + "  ".join(f"{r} {c / n:.2f}" for r, c in usage.routes.most_common()))
    print(f"Per dossier: DynamoDB requests {dict(usage.dynamodb_requests)} / {n}; SQS empty polls {usage.idle_receives} "
          f"in all (a mapping's fixed cost); dev outbox writes left out {usage.local_only}")
    print(f"Per dossier, by function, request and table: requests, capacity units, ms waited (n={n})")
    for (function, call, name), (count, units, waited) in sorted(usage.detail.items()):
        print(f"  {function:14s} {call:40s} {name:14s} {count / n:8.2f} {units / n:8.2f} {waited / n:9.1f}")
    return figures


def main(argv: list[str] | None = None) -> None:
    from infra.local.stack import LocalStack, StackConfig

    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else LIFE
    with quiet(LOG) as terminal:
        table = Table(terminal)
        stack = LocalStack(StackConfig.for_tests()).start()
        try:
            warnings_only()
            usage = measure(stack, n, table)
        finally:
            stack.stop()
        report(usage, n, table)
        table.line(f"(everything else this section printed: {LOG.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
