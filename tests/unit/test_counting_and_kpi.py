"""Counter deltas and their sums, the KPI formulas over counter values, and how a batch is cut into transactions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.domain.counting import CounterKey, aggregate, deltas
from chalicelib.domain.kpi import FilingFigures, Ratio, filing_figures, months_of_period
from chalicelib.store.counters import MAX_TRANSACTION_ACTIONS, plan_chunks
from chalicelib.topology import EventType


def submitted(
    event_id: str = "evt-1",
    *,
    occurred_at: str = "2026-11-05T03:00:00.000Z",
    path: tuple[str, ...] = ("T46", "T46.X01"),
    level: str = "commune",
    channel: str = "online",
    form: str = "full",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": EventType.DOSSIER_SUBMITTED,
        "schema_version": 1,
        "occurred_at": occurred_at,
        "agency_code": path[-1],
        "agency_path": list(path),
        "agency_level": level,
        "channel": channel,
        "online_form": form,
    }


# --- deltas ----------------------------------------------------------------------------------------------


def test_a_submission_moves_each_agency_on_its_path_and_its_level() -> None:
    metric = "filed|channel=online|form=full"
    assert deltas(submitted()) == Counter(
        {
            CounterKey("AGENCY#T46", "2026-11", metric): 1,
            CounterKey("AGENCY#T46.X01", "2026-11", metric): 1,
            CounterKey("LEVEL#T46#commune", "2026-11", metric): 1,
        }
    )


def test_three_tier_commune_moves_its_district_and_province_too() -> None:
    detail = submitted(path=("T46", "T46.H01", "T46.H01.X07"), channel="direct", form="partial")
    metric = "filed|channel=direct|form=partial"
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


@pytest.mark.parametrize("event_type", ["DossierDueSoon", "DossierOverdue", "", "dossiersubmitted"])
def test_unknown_event_types_move_nothing(event_type: str) -> None:
    assert deltas({**submitted(), "event_type": event_type}) == Counter()


def test_aggregate_sums_each_counter_once() -> None:
    batch = [
        submitted("e1"),
        submitted("e2"),
        submitted("e3", channel="direct", form="full"),
        submitted("e4", occurred_at="2026-12-01T01:00:00.000Z"),
        {**submitted("e5"), "event_type": "SomethingElse"},
    ]
    total = aggregate(batch)
    online, direct = "filed|channel=online|form=full", "filed|channel=direct|form=full"
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
        }
    )
    assert total == sum((deltas(detail) for detail in batch), Counter())


def test_aggregate_of_nothing_is_empty() -> None:
    assert aggregate([]) == Counter()


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
    ],
)
def test_months_of_period(period: str, months: list[str]) -> None:
    assert months_of_period(period) == months


@pytest.mark.parametrize(
    "period",
    [
        "2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-Q", "2026-q1", "26-01", "2026-1", "2026-001",
        "2026", "2026-", "", "abcd-01", "2026/01", "2026-Q01", " 2026-01", "2026-01-01",
    ],
)
def test_months_of_period_refuses_anything_else(period: str) -> None:
    with pytest.raises(ValueError, match="not a period"):
        months_of_period(period)


# --- plan_chunks -----------------------------------------------------------------------------------------


def key(n: int) -> CounterKey:
    return CounterKey(f"AGENCY#A{n}", "2026-11", "filed|channel=online|form=full")


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
