"""Counter deltas and their sums, the KPI formulas over counter values, and how a batch is cut into transactions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

import pytest

from chalicelib.domain.counting import ApplyStats, CounterKey, aggregate, deltas, fold
from chalicelib.domain.events import DomainEvent, DossierSubmitted, from_detail
from chalicelib.domain.kpi import FilingFigures, Ratio, filing_figures, months_of_period
from chalicelib.domain.metrics import Metric
from chalicelib.services.counting import IncomingEvent, count_batch
from chalicelib.store.counters import MAX_TRANSACTION_ACTIONS, plan_chunks
from chalicelib.topology import EventType
from tests import samples
from tests.samples import nth_event_id


def submitted(
    event_id: str = "evt-1",
    *,
    occurred_at: str = "2026-11-05T03:00:00.000Z",
    path: tuple[str, ...] = ("T46", "T46.X01"),
    level: str = "commune",
    channel: str = "online",
    form: str = "full",
) -> DossierSubmitted:
    at = datetime.fromisoformat(occurred_at)
    return samples.submitted(event_id, at=at, path=path, level=level, channel=channel, form=form)


# --- deltas ----------------------------------------------------------------------------------------------


def test_a_submission_moves_each_agency_on_its_path_and_its_level() -> None:
    metric = Metric.parse("filed|applicant=citizen|channel=online|form=full")
    online_service = Metric.parse("filed_online|procedure=1.001193")  # index 3.2: the service received a dossier
    assert deltas(submitted()) == Counter(
        {
            CounterKey(scope, "2026-11", counted): 1
            for scope in ("AGENCY#T46", "AGENCY#T46.X01", "LEVEL#T46#commune") for counted in (metric, online_service)
        }
    )


def test_three_tier_commune_moves_its_district_and_province_too() -> None:
    detail = submitted(path=("T46", "T46.H01", "T46.H01.X07"), channel="direct", form="partial")
    metric = Metric.parse("filed|applicant=citizen|channel=direct|form=partial")
    assert deltas(detail) == Counter(
        {
            CounterKey("AGENCY#T46", "2026-11", metric): 1,
            CounterKey("AGENCY#T46.H01", "2026-11", metric): 1,
            CounterKey("AGENCY#T46.H01.X07", "2026-11", metric): 1,
            CounterKey("LEVEL#T46#commune", "2026-11", metric): 1,
        }
    )


def test_a_province_body_moves_the_province_and_its_level() -> None:
    detail = submitted(path=("T46", "T46.STP"), level="province", channel="postal", form="none")
    assert {key.scope for key in deltas(detail)} == {"AGENCY#T46", "AGENCY#T46.STP", "LEVEL#T46#province"}


@pytest.mark.parametrize(
    ("occurred_at", "period"),
    [
        ("2026-10-31T17:30:00.000Z", "2026-11"),  # 00:30 on 1 November in Vietnam
        ("2026-10-31T16:59:59.999Z", "2026-10"),  # 23:59:59 on 31 October in Vietnam
        ("2026-10-31T17:00:00.000Z", "2026-11"),  # midnight exactly
        ("2026-12-31T17:00:00.000Z", "2027-01"),  # new year in Vietnam
        ("2026-11-01T00:00:00.000Z", "2026-11"),
        ("2026-10-31T23:30:00+07:00", "2026-10"),
    ],
)
def test_period_is_the_vietnam_month(occurred_at: str, period: str) -> None:
    assert {key.period for key in deltas(submitted(occurred_at=occurred_at))} == {period}


@pytest.mark.parametrize("event_type", ["DossierDueSoon", "DossierOverdue"])
def test_uncounted_event_types_move_nothing(event_type: str) -> None:
    assert deltas(samples.changed(event_type)) == Counter()


def test_aggregate_sums_each_counter_once() -> None:
    batch = [
        submitted("e1"),
        submitted("e2"),
        submitted("e3", channel="direct", form="full"),
        submitted("e4", occurred_at="2026-12-01T01:00:00.000Z"),
        samples.changed(EventType.DOSSIER_DUE_SOON, event_id="e5"),
    ]
    total = aggregate(batch)
    online = Metric.parse("filed|applicant=citizen|channel=online|form=full")
    direct = Metric.parse("filed|applicant=citizen|channel=direct|form=full")
    service = Metric.parse("filed_online|procedure=1.001193")
    assert total == Counter(
        {
            CounterKey("AGENCY#T46", "2026-11", online): 2,
            CounterKey("AGENCY#T46.X01", "2026-11", online): 2,
            CounterKey("LEVEL#T46#commune", "2026-11", online): 2,
            CounterKey("AGENCY#T46", "2026-11", direct): 1,
            CounterKey("AGENCY#T46.X01", "2026-11", direct): 1,
            CounterKey("LEVEL#T46#commune", "2026-11", direct): 1,
            CounterKey("AGENCY#T46", "2026-12", online): 1,
            CounterKey("AGENCY#T46.X01", "2026-12", online): 1,
            CounterKey("LEVEL#T46#commune", "2026-12", online): 1,
            **{CounterKey(scope, month, service): n for scope in ("AGENCY#T46", "AGENCY#T46.X01", "LEVEL#T46#commune")
               for month, n in (("2026-11", 2), ("2026-12", 1))},
        }
    )
    assert total == sum((deltas(detail) for detail in batch), Counter())


def test_aggregate_of_nothing_is_empty() -> None:
    assert aggregate([]) == Counter()


@pytest.mark.parametrize("event_type", ["", "dossiersubmitted", "SomethingElse"])
def test_unknown_event_types_never_reach_the_fold(event_type: str) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        from_detail({**submitted().detail(), "event_type": event_type})


def test_fold_counts_an_event_id_once_in_order_of_first_appearance() -> None:
    first, again, other = submitted("e1"), submitted("e1", channel="direct"), submitted("e2")
    events: list[DomainEvent] = [first, other, again, first]
    ledger = fold(events)
    assert list(ledger) == ["e1", "e2"]
    assert ledger == {"e1": deltas(first), "e2": deltas(other)}
    assert aggregate(events) == deltas(first) + deltas(other)


def test_fold_of_a_replayed_archive_equals_the_live_sums() -> None:
    """A rebuild reads the bus's details back into events: the same fold gives the same figures."""
    live = [submitted(f"e{i}", channel=("online", "direct")[i % 2]) for i in range(6)]
    live += [samples.changed(EventType.RESULT_RETURNED, event_id="r1", via="post"),
             samples.changed(EventType.RESULT_READY, event_id="r2", on_time=False)]
    replayed = [from_detail(event.detail()) for event in [*live, *live[:3]]]  # the archive holds some twice
    assert replayed[: len(live)] == live
    assert aggregate(replayed) == aggregate(live)


# --- the metric grammar ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("filed|channel=online|form=full", Metric("filed", (("channel", "online"), ("form", "full")))),
        ("received|channel=postal", Metric("received", (("channel", "postal"),))),
        ("finished|on_time=false", Metric("finished", (("on_time", "false"),))),
        ("processed", Metric("processed")),
    ],
)
def test_a_metric_has_one_text(text: str, metric: Metric) -> None:
    assert Metric.parse(text) == metric
    assert str(metric) == text


def test_labels_are_sorted_so_the_text_is_canonical() -> None:
    assert str(Metric.of("filed", form="full", channel="online")) == "filed|channel=online|form=full"
    assert Metric.parse("filed|form=full|channel=online") == Metric.of("filed", channel="online", form="full")
    assert Metric.of("filed", form="full").label("form") == "full"
    assert Metric.of("filed", form="full").label("channel") is None


@pytest.mark.parametrize("text", ["", "filed|channel", "filed|=x|", "filed|a=1|a=2"])
def test_text_outside_the_grammar_is_no_metric(text: str) -> None:
    with pytest.raises(ValueError):
        Metric.parse(text)


@pytest.mark.parametrize(("name", "labels"), [("a|b", {}), ("a=b", {}), ("a", {"x": "1|2"}), ("a", {"x": "y=z"})])
def test_a_metric_cannot_be_built_outside_the_grammar(name: str, labels: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Metric.of(name, **labels)


# --- KPI -------------------------------------------------------------------------------------------------


def test_filing_figures_sum_by_channel_and_form() -> None:
    figures = filing_figures(
        {
            "filed|channel=online|form=full": 5,
            "filed|channel=online|form=partial": 2,
            "filed|channel=online_assisted|form=full": 3,
            "filed|channel=direct|form=none": 7,
            "filed|channel=postal|form=none": 3,
            "resolved|channel=online|form=full": 99,  # another metric: not a filing
        }
    )
    assert figures == FilingFigures(
        total=20,
        by_channel={"online": 7, "online_assisted": 3, "direct": 7, "postal": 3},
        by_online_form={"full": 8, "partial": 2, "none": 10},
        internal_by_channel={"online": 0, "online_assisted": 0, "direct": 0, "postal": 0},  # no applicant label
    )
    assert figures.online_share == Ratio(7, 20)
    assert figures.online_share.percent == 35.0
    assert figures.online_any_share == Ratio(10, 20)
    assert figures.online_any_share.percent == 50.0


def test_filing_figures_of_nothing_are_zeros_with_no_percent() -> None:
    figures = filing_figures({})
    assert figures.total == 0
    assert figures.by_channel == {"online": 0, "online_assisted": 0, "direct": 0, "postal": 0}
    assert figures.by_online_form == {"full": 0, "partial": 0, "none": 0}
    assert figures.online_share.percent is None
    assert figures.online_any_share.as_dict() == {"numerator": 0, "denominator": 0, "percent": None}


@pytest.mark.parametrize(
    ("numerator", "denominator", "percent"),
    [
        (0, 0, None),
        (5, 0, None),
        (0, 7, 0.0),
        (1, 1, 100.0),
        (1, 3, 33.33),
        (2, 3, 66.67),
        (1, 8, 12.5),
        (1, 7, 14.29),
        (7, 20, 35.0),
        (1, 10000, 0.01),
        (1, 30000, 0.0),
    ],
)
def test_ratio_percent(numerator: int, denominator: int, percent: float | None) -> None:
    ratio = Ratio(numerator, denominator)
    assert ratio.percent == percent
    assert ratio.as_dict() == {"numerator": numerator, "denominator": denominator, "percent": percent}


@pytest.mark.parametrize(
    ("period", "months"),
    [
        ("2026-01", ["2026-01"]),
        ("2026-11", ["2026-11"]),
        ("2026-12", ["2026-12"]),
        ("2026-Q1", ["2026-01", "2026-02", "2026-03"]),
        ("2026-Q2", ["2026-04", "2026-05", "2026-06"]),
        ("2026-Q3", ["2026-07", "2026-08", "2026-09"]),
        ("2026-Q4", ["2026-10", "2026-11", "2026-12"]),
        ("2026", [f"2026-{m:02d}" for m in range(1, 13)]),  # a year: the province-year report
    ],
)
def test_months_of_period(period: str, months: list[str]) -> None:
    assert months_of_period(period) == months


@pytest.mark.parametrize(
    "period",
    [
        "2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-Q", "2026-q1", "26-01", "2026-1", "2026-001",
        "2026-", "20266", "", "abcd-01", "2026/01", "2026-Q01", " 2026-01", "2026-01-01",
    ],
)
def test_months_of_period_refuses_anything_else(period: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        months_of_period(period)


# --- plan_chunks -----------------------------------------------------------------------------------------


def key(n: int) -> CounterKey:
    return CounterKey(f"AGENCY#A{n}", "2026-11", Metric.parse("filed|channel=online|form=full"))


def event(event_id: str, *keys: CounterKey) -> tuple[str, Counter[CounterKey]]:
    return event_id, Counter(dict.fromkeys(keys, 1))


def actions(chunk: list[tuple[str, Counter[CounterKey]]]) -> int:
    return len(chunk) + len({k for _, d in chunk for k in d})


def test_250_events_on_the_same_3_counters_make_chunks_of_97() -> None:
    events = [event(f"e{i}", key(1), key(2), key(3)) for i in range(250)]
    chunks = plan_chunks(events)
    assert [len(chunk) for chunk in chunks] == [97, 97, 56]
    assert all(actions(chunk) <= MAX_TRANSACTION_ACTIONS for chunk in chunks)
    assert [entry for chunk in chunks for entry in chunk] == events


@pytest.mark.parametrize(
    "events",
    [
        [event(f"e{i}", key(i), key(i + 1000)) for i in range(120)],  # every event its own two counters
        [event(f"e{i}", key(i % 7), key(50 + i % 11)) for i in range(300)],  # counters shared in patterns
        [event(f"e{i}", *(key(j) for j in range(i % 40))) for i in range(90)],  # 0..39 counters each
        [event(f"e{i}", *(key(i * 100 + j) for j in range(33))) for i in range(10)],  # 33 distinct each: 3 a chunk
    ],
    ids=["disjoint", "shared", "varied", "wide"],
)
def test_chunks_stay_within_the_limit_and_keep_the_order(events: list[tuple[str, Counter[CounterKey]]]) -> None:
    chunks = plan_chunks(events)
    assert all(chunk for chunk in chunks)
    assert all(actions(chunk) <= MAX_TRANSACTION_ACTIONS for chunk in chunks)
    assert [entry for chunk in chunks for entry in chunk] == events


def test_chunks_are_filled_before_a_new_one_starts() -> None:
    events = [event(f"e{i}", *(key(i * 100 + j) for j in range(33))) for i in range(10)]
    assert [len(chunk) for chunk in plan_chunks(events)] == [2, 2, 2, 2, 2]  # 2*(1+33)=68; a third would be 102
    events = [event(f"e{i}", key(i)) for i in range(120)]
    assert [len(chunk) for chunk in plan_chunks(events)] == [50, 50, 20]


def test_one_event_wider_than_the_limit_is_never_split() -> None:
    wide = event("wide", *(key(j) for j in range(150)))
    events = [event("before", key(1000)), wide, event("after", key(1001))]
    chunks = plan_chunks(events)
    assert chunks == [[events[0]], [wide], [events[2]]]


def test_an_event_moving_nothing_still_takes_a_marker() -> None:
    events = [event(f"e{i}") for i in range(150)]
    chunks = plan_chunks(events)
    assert [len(chunk) for chunk in chunks] == [100, 50]


def test_no_events_no_chunks() -> None:
    assert plan_chunks([]) == []


# --- the counters consumer's use case: validate and type, fold, hand the store per-event deltas -----------


class RecordingCounters:
    """Stands in for the counter store: keeps what it was asked to apply."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Counter[CounterKey]]] = []

    def apply(self, ledger: Mapping[str, Counter[CounterKey]]) -> ApplyStats:
        self.applied.append(dict(ledger))
        return ApplyStats(events_applied=len(ledger))


def message(n: int, event: DomainEvent, **changes: object) -> IncomingEvent:
    detail = {**json.loads(json.dumps(event.detail())), **changes}
    return IncomingEvent(f"m-{n}", event.event_type, detail)


def test_a_batch_is_checked_typed_and_folded_before_the_store_sees_it() -> None:
    good = samples.submitted(nth_event_id(1))
    returned = samples.changed(EventType.RESULT_RETURNED, event_id=nth_event_id(2), via="desk")
    batch = [
        message(1, good),
        message(2, returned),
        message(3, good),  # delivered twice in one batch
        message(4, samples.submitted(nth_event_id(4)), channel="carrier-pigeon"),  # breaks its schema
        message(5, samples.changed(EventType.RESULT_RETURNED, event_id=nth_event_id(5)), attributes={"via": 3}),
        IncomingEvent("m-6", "DossierTeleported", good.detail()),  # a type we do not know
        message(7, samples.submitted(nth_event_id(7)), occurred_at="2026-02-31T03:00:00.000Z"),  # no such day
    ]
    counters = RecordingCounters()
    result = count_batch(batch, counters)
    assert result.rejected_message_ids == ["m-4", "m-5", "m-6", "m-7"]
    assert counters.applied == [{nth_event_id(1): deltas(good), nth_event_id(2): deltas(returned)}]
    assert (result.stats.events_applied, result.stats.events_skipped) == (2, 1)
