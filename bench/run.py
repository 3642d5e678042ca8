"""`make bench`: figures from one run against the local stack (DynamoDB Local + moto), printed as a short table.

- latency of POST /v1/dossiers in-process (Chalice's test client: routing, auth, validation, service, DynamoDB),
  without and with an Idempotency-Key, each against a bare TransactWriteItems of the same shape: the very
  actions the app sent for such a submission (its items, conditions and return values, 4 without a key, 5 with),
  replayed under new keys into a scratch table with the dossiers table's keys, indexes and stream (read by nothing,
  so nothing the baseline writes reaches the relay); blocks of the four series alternate, after a warm-up of
  hundreds of each, so drift in the engines touches all alike
- DynamoDB requests per submission, by operation, counted by botocore's hooks: one at a time without and with an
  Idempotency-Key, and from several containers submitting to one agency at once (`bench.contention`)
- counter writes per event when the counters consumer takes batches of 100
- the backlog of those submissions relayed and counted, then submit-to-report latency over HTTP through every
  hop (stream → relay → EventBridge → SQS with its batching window → counters), checking that the relay
  published exactly the events of the submissions timed
- first, before any engine starts: the Lambda bundle's size and each function's cold-start import against a bare
  `import boto3` (`bench.bundle`)
- a province-year report (the root and its 40 communes ranked) over HTTP, from a year of seeded counters
  (`bench.reports`)
- last, in a process and on a stack of its own, AWS requests and cost per dossier over its whole life
  (`bench.dossier_life`)

Printed, not asserted, except the checks that the figures measure what they say (exit status 1 if one fails).
Everything else the run prints goes to `.local/logs/bench.log`.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench import bundle
from bench.contention import CONTAINERS, EACH, submit_concurrently
from bench.measure import Published, RequestCounter, SentTransactions, Table, TransactionCounter, quiet, warnings_only
from bench.payments import ipn_figures
from bench.reports import year_report_figures
from chalicelib import topology
from chalicelib.domain.codes import parse_dossier_code
from chalicelib.store.sequences import MAX_BLOCK, RATE_WINDOW
from infra.local.processes import ROOT
from infra.local.stack import STAGE, LocalStack, StackConfig
from infra.provision import table_definition

SAMPLES = 300  # per in-process series
BLOCK = 25  # samples per block; the series' blocks alternate
WARMUP_BLOCKS = 8  # of each series, unmeasured: 800 requests warm DynamoDB Local's JIT, pynamodb's and the caches
PIPELINE_SAMPLES = 60  # submit → report, one at a time: each waits out the counters queue's 1 s batching window
# The bare transaction's table: the dossiers table's keys, indexes and stream (the same write work); no mapping reads
# its stream.
BASELINE = dataclasses.replace(topology.DOSSIERS, logical="bench-baseline")
LOG = ROOT / ".local" / "logs" / "bench.log"


def main() -> None:
    with quiet(LOG) as terminal:
        table = Table(terminal)
        table.line(f"DVC Cloud benchmark: local stack (DynamoDB Local in memory, moto server), one process, "
                   f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
        bundle.figures(table)  # on a machine the stack does not load yet
        config = StackConfig.for_tests()
        config.api_port = None
        config.run_event_sources = False  # the in-process series run on an idle machine; the pipeline comes after
        stack = LocalStack(config).start()
        try:
            run(stack, table)
        finally:
            stack.stop()
        table.line()
        if subprocess.run([sys.executable, "-m", "bench.dossier_life"], stdout=terminal, check=False).returncode:
            table.problems.append("the dossier-life section failed: see .local/logs/bench-dossier-life.log")
        table.line(f"(everything else the run printed: {LOG.relative_to(ROOT)})")
    if table.problems:
        sys.exit(1)


def run(stack: LocalStack, table: Table) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.bootstrap import container
    from chalicelib.store import models
    from infra.seed import agencies
    from tests.support import Api, submission

    warnings_only()
    communes = [a.code for a in agencies(stack.config.province_code) if a.kind == "commune"]
    crowded, communes = communes[-1], communes[:-1]  # the contention run's agency: no other submission goes there
    c = container()
    requests = RequestCounter()
    requests.attach(c.dynamodb.client)
    for model in set(models._TABLE_OF):
        requests.attach(model._get_connection().connection.client)
    sent = SentTransactions()
    sent.attach(c.dynamodb.client)
    published = Published()
    published.attach(c.events_client)
    dynamodb = stack.client("dynamodb")  # to make the scratch table
    dynamodb.create_table(**table_definition(BASELINE, STAGE))
    dynamodb.get_waiter("table_exists").wait(TableName=BASELINE.physical(STAGE))
    submitted: list[str] = []  # dossier ids, in order: the events the backlog must consist of
    calls: defaultdict[str, Counter[str]] = defaultdict(Counter)  # the app's DynamoDB requests, by series
    bodies = [json.dumps(submission(agency_code=commune)) for commune in communes]
    try:
        with Client(app) as client:
            token = json.loads(client.http.post("/v1/dev/tokens", body=json.dumps({"role": "citizen"}),
                                                headers={"Content-Type": "application/json"}).body)["token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def submit(keyed: bool, body: str | None = None) -> float:
                body = body or random.choice(bodies)
                extra = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
                start = time.perf_counter()
                response = client.http.post("/v1/dossiers", body=body, headers={**headers, **extra})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 201, response.body
                submitted.append(json.loads(response.body)["id"])
                return elapsed

            shapes = {}
            for keyed in (False, True):  # a second submission at an agency: its number's condition is `value = n - 1`
                submit(keyed, bodies[0])
                submit(keyed, bodies[0])
                shapes[keyed] = sent.last
            sent.detach(c.dynamodb.client)
            series = interleave({
                "plain": lambda: submit(False), "bare plain": bare_transaction(c.dynamodb.client, shapes[False]),
                "keyed": lambda: submit(True), "bare keyed": bare_transaction(c.dynamodb.client, shapes[True]),
            }, after_block=lambda name: calls[name].update(requests.take()))
    finally:
        dynamodb.delete_table(TableName=BASELINE.physical(STAGE))
    # warm-ups: over the communes, until each container's blocks have their steady size (they are sized by what it
    # took at each commune in the last RATE_WINDOW seconds); at one commune that takes seconds
    spread = submit_concurrently(c, [submission(agency_code=commune) for commune in communes], RATE_WINDOW,
                                 requests.take)
    spread_calls = requests.take()
    crowd = submit_concurrently(c, [submission(agency_code=crowded)], 5, requests.take)
    crowd_calls = requests.take()
    submitted.extend(answer["id"] for answer in spread + crowd)

    n_plain, n_keyed = (len(shapes[k]["TransactItems"]) for k in (False, True))
    table.header()
    table.latency("POST /v1/dossiers in-process, no key", series["plain"])
    table.latency(f"bare TransactWriteItems, its {n_plain} items", series["bare plain"])
    table.ratio("  ratio", series["plain"], series["bare plain"])
    table.latency("POST /v1/dossiers with an Idempotency-Key", series["keyed"])
    table.latency(f"bare TransactWriteItems, its {n_keyed} items", series["bare keyed"])
    table.ratio("  ratio", series["keyed"], series["bare keyed"])
    table.line()
    per_submission(table, "DynamoDB requests per submission, no key", calls["plain"], SAMPLES)
    per_submission(table, "  … with an Idempotency-Key", calls["keyed"], SAMPLES)
    per_submission(table, f"  … {CONTAINERS} containers, over {len(communes)} communes", spread_calls, CONTAINERS * EACH)
    per_submission(table, f"  … {CONTAINERS} containers, all at one commune", crowd_calls, CONTAINERS * EACH)
    codes = [answer["code"] for answer in spread + crowd]
    numbers = sorted(parse_dossier_code(answer["code"])[2] for answer in crowd)
    unused = numbers[-1] - len(numbers)
    table.check(len(set(codes)) == len(codes) and unused < CONTAINERS * MAX_BLOCK,
                f"{len(codes)} distinct codes; the {len(crowd)} at one commune numbered up to {numbers[-1]}: {unused} "
                f"unused (block tails, < {CONTAINERS} × {MAX_BLOCK})",
                f"{len(codes) - len(set(codes))} duplicate codes among {len(codes)}; {unused} numbers unused at one "
                f"commune")
    outbox = next(item for item in shapes[False]["TransactItems"]
                  if item.get("Put", {}).get("Item", {}).get("kind", {}).get("S") == topology.OUTBOX_KIND)["Put"]["Item"]
    counter_writes(table, app.handler_map[topology.COUNTERS_MAPPING.function], json.loads(outbox["detail"]["S"]),
                   c.dynamodb.client)
    table.line()
    pipeline(stack, table, published, submitted, communes)
    for poller in stack.pollers:  # the counters consumer's writes would count as the IPN's
        poller.stop()
    for poller in stack.pollers:
        poller.join(timeout=5)
    table.line()
    year_report_figures(Api(stack.api_url), agencies(stack.config.province_code), table)  # from counters alone
    table.line()
    from infra.local.payment_sandbox import sandbox_environment
    from infra.local.processes import free_port

    stack._payments_port = free_port()  # the gateways' URLs point at the simulator, as in `make run`
    os.environ.update(sandbox_environment(stack.api_url, stack._payments_port))
    stack.start_payment_sandbox()
    ipn_figures(Api(stack.api_url), communes, requests, table)


def bare_transaction(dynamodb: Any, sent: dict[str, Any]) -> Callable[[], float]:
    """The TransactWriteItems a submission sent, replayed into the scratch table through the app's own botocore client
    (same configuration and connection pool): the same actions, items, conditions and return values, under a new
    dossier (and idempotency) key each time; its sequence update moves a sequence of the bench's own from n - 1 to n,
    as the submission's moved the agency's."""
    table = BASELINE.physical(STAGE)
    actions = copy.deepcopy(sent["TransactItems"])
    request = {name: value for name, value in sent.items() if name != "TransactItems"}  # as the app asked: capacity
    update = next(action["Update"] for action in actions if "Update" in action)
    assert update["Key"]["pk"]["S"].startswith("SEQ#"), "a submission's one update is its number's"
    sent_number = max(int(value["N"]) for value in update["ExpressionAttributeValues"].values())
    assert sent_number > 1, "the shape of a day's second number onwards: `value = n - 1`"
    sequence = {"pk": {"S": f"SEQ#BENCH-{uuid.uuid4().hex}"}, "sk": update["Key"]["sk"]}
    dynamodb.put_item(TableName=table, Item={**sequence, "value": {"N": "0"}})  # counted in no series
    numbers = itertools.count(1)

    def run() -> float:
        shift = next(numbers) - sent_number
        fresh: dict[str, str] = {}
        transact = []
        for action in actions:
            (kind, body), = action.items()
            body = {**body, "TableName": table}
            if kind == "Update":
                body["Key"] = sequence
                body["ExpressionAttributeValues"] = {name: {"N": str(int(value["N"]) + shift)}
                                                     for name, value in body["ExpressionAttributeValues"].items()}
            else:
                pk = body["Item"]["pk"]["S"]
                new_pk = fresh.setdefault(pk, f"{pk.split('#', 1)[0]}#BENCH-{uuid.uuid4().hex}")
                body["Item"] = {**body["Item"], "pk": {"S": new_pk}}
            transact.append({kind: body})
        start = time.perf_counter()
        dynamodb.transact_write_items(**request, TransactItems=transact)
        return (time.perf_counter() - start) * 1000

    return run


def interleave(series: dict[str, Callable[[], float]], after_block: Callable[[str], object]) -> dict[str, list[float]]:
    """Blocks of each series in turn: WARMUP_BLOCKS of each first (discarded), then SAMPLES of each.
    `after_block(name)` runs after each measured block of a series (to attribute what was counted meanwhile)."""
    samples: dict[str, list[float]] = {name: [] for name in series}
    for block in range(WARMUP_BLOCKS + SAMPLES // BLOCK):
        for name, measure in series.items():
            taken = [measure() for _ in range(BLOCK)]
            if block >= WARMUP_BLOCKS:
                samples[name].extend(taken)
                after_block(name)
            else:
                after_block("warm-up")
    return samples


def per_submission(table: Table, label: str, calls: dict[str, int], n: int) -> None:
    per = {op: count / n for op, count in calls.items()}
    table.figure(label, sum(per.values()), "  ".join(f"{op} {value:.3f}" for op, value in per.items()) + f"   (n={n})")


def counter_writes(table: Table, handler: Callable[[dict[str, Any], Any], Any], template: dict[str, Any],
                   client: Any) -> None:
    """What the counters function writes for batches of 100 events spread over 12 communes or all in one: copies of a
    real submission's event under new ids, in agencies of a root of their own so no report of the province moves."""
    writes = TransactionCounter()
    writes.attach(client)

    def message(agency: str) -> dict[str, Any]:
        channel = random.choice(["online", "online", "online", "direct"])
        detail = {**template, "event_id": uuid.uuid4().hex, "agency_code": agency, "agency_path": ["BENCH", agency],
                  "agency_level": "commune", "channel": channel, "online_form": "full" if channel == "online" else "none"}
        body = {"id": uuid.uuid4().hex, "source": topology.EVENT_SOURCE, "detail-type": detail["event_type"], "detail": detail}
        return {"messageId": uuid.uuid4().hex, "receiptHandle": "-", "body": json.dumps(body), "attributes": {},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "-",
                "awsRegion": "-"}

    spread_over = [f"BENCH.C{n:02d}" for n in range(12)]
    picks: tuple[tuple[str, Callable[[], str]], ...] = (("100 over 12 communes", lambda: random.choice(spread_over)),
                                                         ("100 in one commune", lambda: spread_over[0]))
    batches = 10
    for label, pick in picks:
        writes.take()
        failed = [handler({"Records": [message(pick()) for _ in range(100)]}, None)["batchItemFailures"]
                  for _ in range(batches)]
        events = batches * 100
        transactions, actions = writes.take()
        table.figure(f"counter writes/event, {label}", actions.get("Update", 0) / events,
                     f"+ marker writes/event {actions.get('Put', 0) / events:.2f}"
                     f"   transactions/batch {transactions / batches:.1f}   (n={batches} batches of 100)")
        table.check(not any(failed), "", f"the counters function refused {sum(map(len, failed))} of the bench's events")


def pipeline(stack: LocalStack, table: Table, published: Published, backlog: list[str], communes: list[str]) -> None:
    """Drain the backlog, then submit over HTTP and time until the report shows it, one submission at a time."""
    from chalicelib.domain.calendar import month_of
    from tests.support import Api, submission

    # the relay and the counters only: what this section times (the other consumers would share the CPU with them)
    stack.start_event_sources(only=frozenset({topology.RELAY_MAPPING.function, topology.COUNTERS_MAPPING.function}))
    stack.start_http()
    api = Api(stack.api_url)
    citizen, admin = api.token("citizen"), api.token("admin")
    period = month_of(datetime.now(UTC))
    root = f"H{stack.config.province_code:02d}"
    assert stack.resources is not None
    sqs, queue = stack.client("sqs"), stack.resources.queue_urls[topology.COUNTERS_QUEUE.logical]

    def in_queue() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    start = time.perf_counter()
    while api.kpi(root, period, admin)["filed"]["total"] < len(backlog) or in_queue():
        time.sleep(0.1)
    relayed_s = max((published.at[d] for d in backlog if d in published.at), default=start) - start
    table.line(f"backlog of {len(backlog)} submissions' events: all on the bus after {relayed_s:.1f} s, "
               f"all counted after {time.perf_counter() - start:.1f} s")
    relayed = published.since(0)
    table.check(sorted(relayed) == sorted(backlog),
                f"the relay published {len(relayed)} events for the backlog, one per submission, nothing else",
                f"the relay published {len(relayed)} events for a backlog of {len(backlog)} submissions")

    mark = len(published)
    lags: list[float] = []
    on_bus: list[float] = []
    timed: list[str] = []
    for i in range(PIPELINE_SAMPLES):
        agency = communes[i % len(communes)]
        before = api.kpi(agency, period, admin)["filed"]["total"]
        start = time.perf_counter()
        reply = api.call("POST", "/v1/dossiers", submission(agency_code=agency), token=citizen)
        assert reply.status == 201, reply.body
        while api.kpi(agency, period, admin)["filed"]["total"] <= before:
            time.sleep(0.02)
        lags.append((time.perf_counter() - start) * 1000)
        on_bus.append((published.at[reply.body["id"]] - start) * 1000)
        timed.append(reply.body["id"])
    table.header()
    table.latency("submit → its event on the bus (HTTP)", on_bus)
    table.latency("submit → visible in the KPI report (HTTP)", lags)
    relayed = published.since(mark)
    table.check(relayed == timed,
                f"the relay published {len(relayed)} events while those were timed: exactly theirs, in order",
                f"the relay published {len(relayed)} events while {len(timed)} submissions were timed")
    window_ms = topology.COUNTERS_MAPPING.batching_window_s * 1000
    table.check(min(lags) >= window_ms,
                f"each of those samples includes the counters queue's {window_ms:.0f} ms batching window",
                f"a submission reached the report in {min(lags):.0f} ms, within the {window_ms:.0f} ms batching window")


if __name__ == "__main__":
    main()
