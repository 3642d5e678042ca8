"""`make bench`: figures from one run against the local stack (DynamoDB Local + moto), printed as a short table.

- latency of POST /v1/dossiers in-process (Chalice's test client: routing, auth, validation, service, DynamoDB)
- latency of a bare TransactWriteItems of the same three items, into a scratch table with the dossiers table's
  keys and indexes but no stream, so nothing the baseline writes reaches the relay; blocks of the two series
  alternate, after a warm-up of both, so drift in the engines touches both alike
- DynamoDB requests per submission, by operation, without and with an Idempotency-Key
- counter writes per event when the counters consumer takes batches of 100
- the backlog of those submissions relayed and counted, then submit-to-report latency over HTTP through every
  hop (stream → relay → EventBridge → SQS with its batching window → counters), checking that the relay
  published exactly the events of the submissions timed

Printed, not asserted, except the checks that the figures measure what they say (exit status 1 if one fails).
Everything else the run prints goes to `.local/logs/bench.log`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.measure import Published, RequestCounter, Table, TransactionCounter, quiet, warnings_only
from chalicelib import topology
from infra.local.processes import ROOT
from infra.local.stack import STAGE, LocalStack, StackConfig
from infra.provision import table_definition

SAMPLES = 300  # per in-process series
BLOCK = 25  # samples per block; the app's and the bare transaction's blocks alternate
WARMUP_BLOCKS = 4  # of each series, unmeasured: DynamoDB Local's JIT, pynamodb's and the catalogue's caches
KEYED = 50  # submissions with an Idempotency-Key, for their request count
PIPELINE_SAMPLES = 60  # submit → report, one at a time: each waits out the counters queue's 1 s batching window
# The bare transaction's table: the dossiers table's keys and indexes (the same write work) without its stream.
BASELINE = dataclasses.replace(topology.DOSSIERS, logical="bench-baseline", stream_view=None)
LOG = ROOT / ".local" / "logs" / "bench.log"


def main() -> None:
    with quiet(LOG) as terminal:
        table = Table(terminal)
        table.line(f"DVC Cloud benchmark: local stack (DynamoDB Local in memory, moto server), one process, "
                   f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}")
        config = StackConfig.for_tests()
        config.api_port = None
        config.run_event_sources = False  # the in-process series run on an idle machine; the pipeline comes after
        stack = LocalStack(config).start()
        try:
            run(stack, table)
        finally:
            stack.stop()
        table.line(f"(everything else the run printed: {LOG.relative_to(ROOT)})")
    if table.problems:
        sys.exit(1)


def run(stack: LocalStack, table: Table) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.bootstrap import container
    from chalicelib.store import models
    from infra.seed import agencies
    from tests.support import submission

    warnings_only()
    communes = [a.code for a in agencies(stack.config.province_code) if a.kind == "commune"]
    c = container()
    requests = RequestCounter()
    requests.attach(c.dynamodb.client)
    for model in set(models._TABLE_OF):
        requests.attach(model._get_connection().connection.client)
    published = Published()
    published.attach(c.events_client)
    dynamodb = stack.client("dynamodb")  # the bare transaction's own client: its calls are not counted above
    dynamodb.create_table(**table_definition(BASELINE, STAGE))
    dynamodb.get_waiter("table_exists").wait(TableName=BASELINE.physical(STAGE))
    submitted: list[str] = []  # dossier ids, in order: the events the backlog must consist of
    try:
        with Client(app) as client:
            token = json.loads(client.http.post("/v1/dev/tokens", body=json.dumps({"role": "citizen"}),
                                                headers={"Content-Type": "application/json"}).body)["token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def submit(key: str | None = None) -> float:
                body = json.dumps(submission(agency_code=random.choice(communes)))
                extra = {"Idempotency-Key": key} if key else {}
                start = time.perf_counter()
                response = client.http.post("/v1/dossiers", body=body, headers={**headers, **extra})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 201, response.body
                submitted.append(json.loads(response.body)["id"])
                return elapsed

            submit()
            items = dynamodb.query(TableName=topology.DOSSIERS.physical(STAGE), KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": f"DOSSIER#{submitted[0]}"}})["Items"]
            bare = bare_transaction(dynamodb, items)
            api_ms, bare_ms = alternate(submit, bare, warmed_up=requests.take)  # count the measured ones only
            plain = requests.take()
            for i in range(KEYED):
                submit(key=f"bench-{i}")
            keyed = requests.take()
    finally:
        dynamodb.delete_table(TableName=BASELINE.physical(STAGE))

    table.header()
    table.latency("POST /v1/dossiers in-process", api_ms)
    table.latency("bare TransactWriteItems, the same 3 items", bare_ms)
    table.ratio("ratio API / bare transaction", api_ms, bare_ms)
    table.line()
    per_submission(table, "DynamoDB requests per submission", plain, SAMPLES)
    per_submission(table, "  … with an Idempotency-Key", keyed, KEYED)
    outbox = next(item for item in items if item.get("kind", {}).get("S") == topology.OUTBOX_KIND)
    counter_writes(table, app.handler_map[topology.COUNTERS_MAPPING.function], json.loads(outbox["detail"]["S"]),
                   c.dynamodb.client)
    table.line()
    pipeline(stack, table, published, submitted, communes)


def bare_transaction(dynamodb: Any, items: list[dict[str, Any]]) -> Callable[[], float]:
    """A TransactWriteItems of a real submission's items (dossier, history entry, outbox event) under a new key."""
    assert len(items) == 3, f"a submission writes {len(items)} items to its partition, not 3: update the baseline"

    def run() -> float:
        pk = {"S": f"DOSSIER#{uuid.uuid4().hex}"}
        transact = [{"Put": {"TableName": BASELINE.physical(STAGE), "Item": {**item, "pk": pk},
                             "ConditionExpression": "attribute_not_exists(pk)"}} for item in items]
        start = time.perf_counter()
        dynamodb.transact_write_items(TransactItems=transact)
        return (time.perf_counter() - start) * 1000

    return run


def alternate(first: Callable[[], float], second: Callable[[], float],
              warmed_up: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Blocks of each, in turn: warm-up blocks first (discarded, then `warmed_up()`), then SAMPLES of each."""
    series: tuple[list[float], list[float]] = ([], [])
    for block in range(WARMUP_BLOCKS + SAMPLES // BLOCK):
        if block == WARMUP_BLOCKS:
            warmed_up()
        for measure, samples in zip((first, second), series, strict=True):
            taken = [measure() for _ in range(BLOCK)]
            if block >= WARMUP_BLOCKS:
                samples.extend(taken)
    return series


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

    stack.start_event_sources()
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
