"""The event path on the local stack: relay crashes, redelivered batches, poison messages, exact counts."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.bootstrap import container
from chalicelib.domain.counting import CounterKey, agency_scope, aggregate, fold
from chalicelib.domain.events import DossierSubmitted, from_detail
from chalicelib.domain.metrics import Metric
from chalicelib.store.counters import CounterTable
from chalicelib.store.models import CounterModel, ShadowCounterModel
from chalicelib.topology import COUNTERS_QUEUE, EVENT_SOURCE
from infra.local.stack import LocalStack
from tests.support import Api, commune, submission, wait_for

NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def event(agency: str, channel: str = "online", at: datetime = NOW) -> dict[str, Any]:
    return DossierSubmitted(
        event_id=uuid.uuid4().hex, occurred_at=at, dossier_id=uuid.uuid4().hex, dossier_code=f"{agency}-261110-0001",
        procedure_code="1.001193", agency_code=agency, agency_path=("H46", agency), agency_level="commune",
        channel=channel, online_form="full", applicant_kind="citizen", status="registered", status_code=1, fees_total=0,
    ).detail()


def total(agency: str, period: str = "2026-11") -> int:
    """Dossiers filed at the agency: the `filed|…` counters (a submission moves others too, e.g. per procedure)."""
    return sum(value for metric, value in CounterTable().read(agency_scope(agency), [period]).items()
               if metric.startswith("filed|"))


def sqs_event(details: list[dict[str, Any]]) -> dict[str, Any]:
    """What the counters function receives: EventBridge envelopes inside SQS records."""
    return {"Records": [
        {"messageId": f"m-{i}", "receiptHandle": "r", "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
         "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "ap-southeast-1",
         "body": json.dumps({"id": str(i), "source": EVENT_SOURCE, "detail-type": d["event_type"], "detail": d})}
        for i, d in enumerate(details)
    ]}


def test_a_redelivered_batch_changes_nothing(stack: LocalStack) -> None:
    from app import app

    agency = "TEST.REDELIVERY"
    batch = [event(agency) for _ in range(30)]
    handler = app.handler_map["counters"]
    assert handler(sqs_event(batch), None) == {"batchItemFailures": []}
    assert total(agency) == 30
    assert handler(sqs_event(batch), None) == {"batchItemFailures": []}  # the same batch again
    assert handler(sqs_event([*batch[10:], event(agency)]), None) == {"batchItemFailures": []}  # overlapping
    assert total(agency) == 31


def test_a_large_batch_is_split_into_transactions_and_counted_exactly(stack: LocalStack) -> None:
    agency = "TEST.LARGE"
    details = [event(agency, channel=("online", "direct")[i % 2]) for i in range(250)]
    stats = container().counters.apply(fold(from_detail(d) for d in details))  # the service folds, the store applies
    # 3 metrics × 3 scopes (the agency, the province, the level) = 9 counters, and their 9 year rollups: 82 markers
    # fit beside those 18 increments in a transaction of 100 actions, so 250 events take 4 transactions
    assert stats.events_applied == 250 and stats.transactions == 4 and stats.counter_writes == 4 * 18
    figures = CounterTable().read(agency_scope(agency), ["2026-11"])
    assert figures == {"filed|applicant=citizen|channel=online|form=full": 125,
                       "filed|applicant=citizen|channel=direct|form=full": 125,
                       "filed_online|procedure=1.001193": 125}  # index 3.2: the online service received dossiers


def test_two_consumers_racing_on_the_same_events_count_them_once(stack: LocalStack) -> None:
    agency = "TEST.RACE"
    details = [event(agency) for _ in range(60)]
    start = threading.Barrier(4)

    def consume(_: int) -> None:
        start.wait()
        container().counters.apply(fold(from_detail(d) for d in details))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(consume, range(4)))
    assert total(agency) == 60


def test_a_poison_message_ends_in_the_dead_letter_queue_and_blocks_nothing(stack: LocalStack, api: Api) -> None:
    assert stack.resources is not None
    sqs = stack.client("sqs")
    dlq = stack.resources.dlq_urls[COUNTERS_QUEUE.logical]
    sqs.send_message(QueueUrl=stack.resources.queue_urls[COUNTERS_QUEUE.logical], MessageBody="{not an event")
    good = event("TEST.POISON")
    sqs.send_message(QueueUrl=stack.resources.queue_urls[COUNTERS_QUEUE.logical],
                     MessageBody=json.dumps({"source": EVENT_SOURCE, "detail-type": good["event_type"], "detail": good}))
    assert wait_for(lambda: total("TEST.POISON"), lambda n: n == 1, 10) == 1

    def dead() -> list[str]:
        got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0)
        return [m["Body"] for m in got.get("Messages", [])]

    assert "{not an event" in wait_for(dead, lambda bodies: "{not an event" in bodies, 20)


def _crash_once(original: Callable[..., Any], *, after_publish: bool) -> tuple[Callable[..., Any], list[int]]:
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            if after_publish:
                original(event, context)  # published, then the process dies before the checkpoint
            raise RuntimeError("the relay's process died")
        return original(event, context)

    return handler, calls


def _crash_test(stack: LocalStack, api: Api, admin_token: str, agency: str, *, after_publish: bool) -> None:
    poller = stack.poller("relay")
    original = poller.handler
    poller.handler, calls = _crash_once(original, after_publish=after_publish)
    try:
        token = api.token("citizen", sub=f"crash-{agency}")
        created = api.call("POST", "/v1/dossiers", submission(agency_code=agency), token=token)
        assert created.status == 201
        period = created.body["submitted_at"][:7]
        report = wait_for(lambda: api.kpi(agency, period, admin_token), lambda r: r["filed"]["total"] >= 1, 10)
        assert report["filed"]["total"] == 1
        assert len(calls) >= 2  # the crashed batch was delivered again
        wait_for(lambda: None, lambda _: False, 3.0)  # let any duplicate publication reach the counters (1 s window)
        assert api.kpi(agency, period, admin_token)["filed"]["total"] == 1
    finally:
        poller.handler = original


def test_a_crash_after_the_write_and_before_the_publish_loses_nothing(stack: LocalStack, api: Api, admin_token: str) -> None:
    _crash_test(stack, api, admin_token, commune(10), after_publish=False)


def test_a_crash_after_the_publish_counts_nothing_twice(stack: LocalStack, api: Api, admin_token: str) -> None:
    _crash_test(stack, api, admin_token, commune(11), after_publish=True)



def test_an_outbox_event_that_breaks_its_schema_goes_to_the_relay_failure_queue(stack: LocalStack) -> None:
    from chalicelib.store.models import OutboxModel
    from chalicelib.topology import RELAY_MAPPING

    assert stack.resources is not None
    bad = OutboxModel(f"DOSSIER#bad-{uuid.uuid4().hex}", "OUTBOX#00000001#000", event_id=uuid.uuid4().hex,
                      event_type="DossierSubmitted", schema="dossier-submitted.v1.json",
                      detail=json.dumps({"event_type": "DossierSubmitted"}), occurred_at="2026-11-10T03:00:00.000Z",
                      expires_at=0)
    bad.save()
    sqs = stack.client("sqs")
    destination = stack.resources.queue_urls[RELAY_MAPPING.on_failure.logical]

    def failures() -> list[str]:
        got = sqs.receive_message(QueueUrl=destination, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0)
        return [m["Body"] for m in got.get("Messages", [])]

    found = wait_for(failures, lambda bodies: any(bad.pk in body for body in bodies), 15)
    assert any(bad.pk in body for body in found)


def test_a_year_is_read_from_its_rollup_and_equals_its_months(stack: LocalStack) -> None:
    """The store keeps each month's counter and its year's (the rollup a year's report reads): applied in one
    transaction, so the year equals the sum of its months, however the year is read, and seeding gives the same."""
    import dataclasses

    agency, seeded = "TEST.YEAR", "TEST.YEAR.SEEDED"
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    details = [event(agency, channel=("online", "direct")[m % 2], at=datetime(2025, m, 15, 3, tzinfo=UTC))
               for m in range(1, 13) for _ in range(m)]
    details.append(event(agency, at=datetime(2026, 1, 1, 3, tzinfo=UTC)))  # another year: not in 2025's rollup
    details.append(event(agency, at=datetime(2024, 12, 31, 16, 59, tzinfo=UTC)))  # 23:59 on 31 December in Vietnam
    events = [dataclasses.replace(from_detail(d), agency_path=(agency,)) for d in details]
    counters = container().counters
    counters.apply(fold(events))
    counters.apply(fold(events))  # a redelivery moves neither the months nor the year
    scope = agency_scope(agency)
    year = CounterTable().read(scope, months)  # the whole year: the rollup
    by_month = [CounterTable().read(scope, [month]) for month in months]
    assert sum(value for metric, value in year.items() if metric.startswith("filed|")) == 78  # 1 + 2 + … + 12
    assert year == dict(sum((Counter(m) for m in by_month), Counter()))
    assert CounterTable().read(scope, months[:11]) == dict(sum((Counter(m) for m in by_month[:11]), Counter()))
    # online in the even months (2 + 4 + … + 12) and in January 2026: the year from its rollup, the month alone
    assert CounterTable().read(scope, [*months, "2026-01"])["filed_online|procedure=1.001193"] == 42 + 1

    other = [dataclasses.replace(e, agency_path=(seeded,), agency_code=seeded) for e in events]
    CounterTable().put_totals(aggregate(other))  # a recount written as values: the same months and the same rollup
    assert CounterTable().read(agency_scope(seeded), months) == year

    shadow = CounterTable(ShadowCounterModel, keep_for=timedelta(days=7))  # what a rebuild writes to
    stale = Counter({CounterKey(agency_scope(seeded), "2025-03", Metric.parse("filed|channel=fax")): 5})
    shadow.put_totals(stale + aggregate(other))
    shadow.replace(agency_scope(seeded), months, aggregate(other))  # the recount replaces what an older one wrote
    assert shadow.read(agency_scope(seeded), months) == year
    assert shadow.read(agency_scope(seeded), ["2025-03"]) == CounterTable().read(agency_scope(seeded), ["2025-03"])

    # The shadow is read back right after it is written: strongly consistent; reports read the live table eventually
    asked: list[tuple[str, bool]] = []
    for model in (CounterModel, ShadowCounterModel):
        client = model._get_connection().connection.client
        client.meta.events.register("before-parameter-build.dynamodb.Query", lambda params, **_: asked.append(
            (params["TableName"], bool(params.get("ConsistentRead")))), unique_id="consistency-probe")
    try:
        shadow.read(agency_scope(seeded), months)
        CounterTable().read(agency_scope(seeded), months)
    finally:
        for model in (CounterModel, ShadowCounterModel):
            model._get_connection().connection.client.meta.events.unregister(
                "before-parameter-build.dynamodb.Query", unique_id="consistency-probe")
    assert asked == [(ShadowCounterModel.Meta.table_name, True), (CounterModel.Meta.table_name, False)]
