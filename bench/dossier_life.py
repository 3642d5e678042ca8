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
The recording is `bench.aws_usage`'s. Its own process (`python -m bench.dossier_life [N]`, which `bench.run` starts
last): the local stream poller reads the stream from its start, and in the other sections' process it would relay
their thousands of submissions again.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import prices
from bench.aws_usage import AWS_REQUEST_MS, Usage, invocation, recording, timed
from bench.measure import Table, quiet, warnings_only
from chalicelib import topology
from infra.cloudformation import API_FUNCTION
from infra.local.processes import ROOT

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
LOG = ROOT / ".local" / "logs" / "bench-dossier-life.log"


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
