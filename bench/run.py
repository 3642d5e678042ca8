"""`make bench`: figures from one run against the local stack (DynamoDB Local + moto), printed, not asserted.

- latency of POST /v1/dossiers in-process (Chalice's test client: routing, auth, validation, service, DynamoDB)
- latency of a bare TransactWriteItems of the same three items, and the ratio of the two
- DynamoDB requests per submission, by operation
- counter writes per event when the counters consumer takes batches of 100
- submit-to-report latency through the whole pipeline (stream → relay → EventBridge → SQS → counters)
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

SUBMISSIONS = 300
WARMUP = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} ms   p95 {percentile(values, 0.95):6.2f} ms   (n={len(values)})"


class RequestCounter:
    """Counts DynamoDB API calls by operation, from botocore's own event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self)


def main() -> None:
    from chalice.test import Client

    from infra.local.stack import LocalStack, StackConfig
    from tests.support import submission

    config = StackConfig.for_tests()
    config.api_port = None
    config.run_event_sources = False
    stack = LocalStack(config).start()
    try:
        from app import app
        from chalicelib.bootstrap import container
        from chalicelib.store import models
        from infra.seed import agencies

        communes = [a.code for a in agencies(config.province_code) if a.kind == "commune"]
        c = container()
        counter = RequestCounter()
        counter.attach(c.dynamodb.client)
        for model in {m for m in models._TABLE_OF}:
            counter.attach(model._get_connection().connection.client)

        with Client(app) as client:
            token = json.loads(client.http.post("/v1/dev/tokens", body=json.dumps({"role": "citizen"}),
                                                headers={"Content-Type": "application/json"}).body)["token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def submit(key: str | None = None) -> tuple[float, dict[str, Any]]:
                body = json.dumps(submission(agency_code=random.choice(communes)))
                extra = {"Idempotency-Key": key} if key else {}
                start = time.perf_counter()
                response = client.http.post("/v1/dossiers", body=body, headers={**headers, **extra})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 201, response.body
                return elapsed, json.loads(response.body)

            for _ in range(WARMUP):
                submit()
            counter.calls.clear()
            api_ms = [submit()[0] for _ in range(SUBMISSIONS)]
            plain_calls = dict(counter.calls)
            counter.calls.clear()
            for i in range(50):
                submit(key=f"bench-{i}")
            keyed_calls = dict(counter.calls)
            _, sample = submit()

        dynamodb = stack.client("dynamodb")
        table = "dvc-local-dossiers"
        items = dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": f"DOSSIER#{sample['id']}"}})["Items"]
        bare_ms: list[float] = []
        for _ in range(WARMUP + SUBMISSIONS):
            pk = {"S": f"DOSSIER#{uuid.uuid4().hex}"}
            transact = [
                {"Put": {"TableName": table, "Item": {**item, "pk": pk}, "ConditionExpression": "attribute_not_exists(pk)"}}
                for item in items
            ]
            start = time.perf_counter()
            dynamodb.transact_write_items(TransactItems=transact)
            bare_ms.append((time.perf_counter() - start) * 1000)
        bare_ms = bare_ms[WARMUP:]

        agencies_used = communes[:12]
        at = datetime.now(UTC)

        def detail(agency: str) -> dict[str, Any]:
            return {"event_id": uuid.uuid4().hex, "event_type": "DossierSubmitted", "occurred_at": at.isoformat(),
                    "agency_path": ["BENCH", agency], "agency_level": "commune",
                    "channel": random.choice(["online", "online", "online", "direct"]), "online_form": "full"}

        batches = 10
        spread = [c.counters.apply([detail(random.choice(agencies_used)) for _ in range(100)]) for _ in range(batches)]
        one_agency = [c.counters.apply([detail(agencies_used[0]) for _ in range(100)]) for _ in range(batches)]

        print("DVC Cloud benchmark — local stack (DynamoDB Local in memory, moto), one process, 2 cores")
        print(f"POST /v1/dossiers in-process      {summary(api_ms)}")
        print(f"bare TransactWriteItems (3 items) {summary(bare_ms)}")
        print(f"ratio API / bare transaction      median {statistics.median(api_ms) / statistics.median(bare_ms):.2f}×   "
              f"p95 {percentile(api_ms, 0.95) / percentile(bare_ms, 0.95):.2f}×")
        per = {op: n / SUBMISSIONS for op, n in sorted(plain_calls.items())}
        print(f"DynamoDB requests per submission  {sum(per.values()):.2f}  {per}")
        per_keyed = {op: n / 50 for op, n in sorted(keyed_calls.items())}
        print(f"  … with an Idempotency-Key       {sum(per_keyed.values()):.2f}  {per_keyed}")
        for label, runs in (("100 events over 12 communes", spread), ("100 events, one commune", one_agency)):
            events = sum(s.events_applied for s in runs)
            print(f"counters, batch of {label:28s} counter writes/event {sum(s.counter_writes for s in runs) / events:.3f}"
                  f"   marker writes/event {sum(s.marker_writes for s in runs) / events:.2f}"
                  f"   transactions/batch {sum(s.transactions for s in runs) / len(runs):.1f}")
        pipeline(stack, WARMUP + SUBMISSIONS + 50 + 1)
    finally:
        stack.stop()


def pipeline(stack: Any, expected_backlog: int) -> None:
    """Submit over HTTP and time until the report shows it, through every hop of the event path."""
    from chalicelib.domain.calendar import month_of
    from tests.support import Api, commune, submission

    stack.start_event_sources()
    stack.start_http()
    api = Api(stack.api_url)
    citizen, admin = api.token("citizen"), api.token("admin")
    period = month_of(datetime.now(UTC))
    root = f"H{stack.config.province_code:02d}"
    drain_start = time.perf_counter()
    while api.kpi(root, period, admin)["filed"]["total"] < expected_backlog:
        time.sleep(0.1)  # the backlog written while the event sources were off drains first
    print(f"backlog of {expected_backlog} events relayed and counted in {time.perf_counter() - drain_start:.1f} s")
    lags: list[float] = []
    for i in range(20):
        agency = commune(i)
        before = api.kpi(agency, period, admin)["filed"]["total"]
        start = time.perf_counter()
        api.call("POST", "/v1/dossiers", submission(agency_code=agency), token=citizen)
        while api.kpi(agency, period, admin)["filed"]["total"] <= before:
            time.sleep(0.01)
        lags.append((time.perf_counter() - start) * 1000)
    print(f"submit → visible in the KPI report {summary(lags)}")


if __name__ == "__main__":
    main()
