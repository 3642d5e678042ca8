"""The national index's on-time rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chalicelib.domain.calendar import VN_TZ, WorkingCalendar
from chalicelib.domain.timeliness import (
    ClockFacts,
    Supplement,
    Verdict,
    deadline,
    end_of_processing,
    is_late,
    judge,
    on_time_limit,
    supplement_time,
)

CAL = WorkingCalendar(days_off=frozenset(date(2026, 2, d) for d in range(16, 21)))  # Tết 16–20/2
H = timedelta(hours=1)


def vn(day: str, clock: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=VN_TZ)


# Received Monday 5 October 2026 at 09:00 with 3 legal days: appointment Thursday 8 October 09:00.
RECEIVED = vn("2026-10-05", "09:00")
APPOINTMENT = vn("2026-10-08", "09:00")
PERIOD_END = vn("2026-10-31", "23:59")


def facts(
    finished: datetime | None = None,
    *supplements: Supplement,
    appointment: datetime | None = APPOINTMENT,
    received: datetime = RECEIVED,
    legal_days: int = 3,
) -> ClockFacts:
    return ClockFacts(received, legal_days, appointment, finished, tuple(supplements))


def supp(requested: datetime, resubmitted: datetime | None = None) -> Supplement:
    return Supplement(requested, resubmitted)


# A closed supplement open for 24 hours (Tue 10:00 → Wed 10:00): the on-time limit moves to Fri 09:00.
ONE_DAY_SUPPLEMENT = supp(vn("2026-10-06", "10:00"), vn("2026-10-07", "10:00"))
# Open Wed 16:00 → Thu 08:30: 16h30 raw (the index subtracts the interval, not its working time): limit Fri 01:30.
OVERNIGHT_SUPPLEMENT = supp(vn("2026-10-07", "16:00"), vn("2026-10-08", "08:30"))

CASES = [
    # -- with an appointment date
    ("finished early", facts(vn("2026-10-07", "15:00")), PERIOD_END, Verdict.ON_TIME),
    ("finished exactly at the appointment", facts(APPOINTMENT), PERIOD_END, Verdict.ON_TIME),
    ("finished a minute late", facts(vn("2026-10-08", "09:01")), PERIOD_END, Verdict.LATE),
    ("finished weeks late", facts(vn("2026-10-28", "10:00")), PERIOD_END, Verdict.LATE),
    # -- unfinished: judged at as_of
    ("unfinished, period ends before", facts(), vn("2026-10-07", "23:59"), Verdict.IN_PROGRESS_ON_TIME),
    ("unfinished, period ends at appointment", facts(), APPOINTMENT, Verdict.IN_PROGRESS_ON_TIME),
    ("unfinished, period ends after", facts(), PERIOD_END, Verdict.IN_PROGRESS_LATE),
    # -- the raw time of a closed supplement is subtracted from the end
    (
        "closed supplement, finished at pushed deadline",
        facts(vn("2026-10-09", "09:00"), ONE_DAY_SUPPLEMENT),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    (
        "closed supplement, finished after pushed deadline",
        facts(vn("2026-10-09", "09:01"), ONE_DAY_SUPPLEMENT),
        PERIOD_END,
        Verdict.LATE,
    ),
    (
        "overnight supplement subtracts its raw 16h30, on time",
        facts(vn("2026-10-09", "01:30"), OVERNIGHT_SUPPLEMENT),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    (
        "overnight supplement subtracts its raw 16h30, late",
        facts(vn("2026-10-09", "01:31"), OVERNIGHT_SUPPLEMENT),
        PERIOD_END,
        Verdict.LATE,
    ),
    (
        "closed supplement, unfinished within pushed deadline",
        facts(None, ONE_DAY_SUPPLEMENT),
        vn("2026-10-08", "17:00"),
        Verdict.IN_PROGRESS_ON_TIME,
    ),
    (
        "closed supplement, unfinished past pushed deadline",
        facts(None, ONE_DAY_SUPPLEMENT),
        vn("2026-10-09", "09:01"),
        Verdict.IN_PROGRESS_LATE,
    ),
    # -- an open supplement ends the clock at its request time
    (
        "open supplement requested in time",
        facts(None, supp(vn("2026-10-07", "10:00"))),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    (
        "open supplement requested after the appointment",
        facts(None, supp(vn("2026-10-09", "10:00"))),
        PERIOD_END,
        Verdict.LATE,
    ),
    (
        "open supplement, then withdrawn: clock ended at the request",
        facts(vn("2026-10-20", "10:00"), supp(vn("2026-10-07", "10:00"))),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    # -- more than one supplement request is late where the process shows only supplement requests (the index)
    (
        "two closed supplements, finished early: judged on its times",
        facts(vn("2026-10-07", "15:00"), supp(vn("2026-10-05", "10:00"), vn("2026-10-05", "11:00")), ONE_DAY_SUPPLEMENT),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    (
        "two supplements, the second open",
        facts(None, ONE_DAY_SUPPLEMENT, supp(vn("2026-10-07", "14:00"))),
        PERIOD_END,
        Verdict.LATE,
    ),
    (
        "two closed supplements, unfinished: judged on its times",
        facts(None, supp(vn("2026-10-05", "10:00"), vn("2026-10-05", "11:00")), ONE_DAY_SUPPLEMENT),
        vn("2026-10-07", "12:00"),
        Verdict.IN_PROGRESS_ON_TIME,
    ),
    # -- without an appointment date: working days elapsed - supplement time <= legal days
    ("no appointment, exactly 3 days", facts(APPOINTMENT, appointment=None), PERIOD_END, Verdict.ON_TIME),
    ("no appointment, 3 days and a minute", facts(vn("2026-10-08", "09:01"), appointment=None), PERIOD_END, Verdict.LATE),
    (
        "no appointment, supplement time subtracted",
        facts(vn("2026-10-09", "09:00"), ONE_DAY_SUPPLEMENT, appointment=None),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
    (
        "no appointment, supplement time subtracted, still late",
        facts(vn("2026-10-09", "09:01"), ONE_DAY_SUPPLEMENT, appointment=None),
        PERIOD_END,
        Verdict.LATE,
    ),
    ("no appointment, unfinished in time", facts(appointment=None), vn("2026-10-07", "17:00"), Verdict.IN_PROGRESS_ON_TIME),
    ("no appointment, unfinished late", facts(appointment=None), vn("2026-10-08", "10:00"), Verdict.IN_PROGRESS_LATE),
    (
        "no appointment, received after hours: clock starts next working day",
        facts(vn("2026-11-02", "17:00"), received=vn("2026-10-30", "18:00"), legal_days=1, appointment=None),
        vn("2026-11-30", "23:59"),
        Verdict.ON_TIME,
    ),
    (
        "no appointment, received after hours, a minute over",
        facts(vn("2026-11-03", "07:31"), received=vn("2026-10-30", "18:00"), legal_days=1, appointment=None),
        vn("2026-11-30", "23:59"),
        Verdict.LATE,
    ),
    (
        "no appointment, days off do not count",
        facts(vn("2026-02-23", "17:00"), received=vn("2026-02-13", "07:30"), legal_days=2, appointment=None),
        vn("2026-02-28", "23:59"),
        Verdict.ON_TIME,
    ),
    # -- only what had happened by as_of counts
    (
        "finished after the period: in progress at period end",
        facts(vn("2026-11-02", "10:00")),
        vn("2026-10-07", "23:59"),
        Verdict.IN_PROGRESS_ON_TIME,
    ),
    (
        "finished late after the period: already late at period end",
        facts(vn("2026-11-02", "10:00")),
        PERIOD_END,
        Verdict.IN_PROGRESS_LATE,
    ),
    (
        "supplement requested after the period is ignored",
        facts(None, ONE_DAY_SUPPLEMENT, supp(vn("2026-11-02", "10:00"))),
        PERIOD_END,
        Verdict.IN_PROGRESS_LATE,
    ),
    (
        "supplement resubmitted after the period is still open at period end",
        facts(vn("2026-11-05", "10:00"), supp(vn("2026-10-07", "10:00"), vn("2026-11-02", "10:00"))),
        PERIOD_END,
        Verdict.ON_TIME,
    ),
]


@pytest.mark.parametrize(("facts_", "as_of", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_judge(facts_: ClockFacts, as_of: datetime, expected: Verdict) -> None:
    assert judge(facts_, as_of, CAL) is expected


@pytest.mark.parametrize(
    ("verdict", "late"),
    [
        (Verdict.ON_TIME, False),
        (Verdict.IN_PROGRESS_ON_TIME, False),
        (Verdict.LATE, True),
        (Verdict.IN_PROGRESS_LATE, True),
    ],
)
def test_is_late(verdict: Verdict, late: bool) -> None:
    assert is_late(verdict) is late


@pytest.mark.parametrize(
    ("facts_", "as_of", "expected"),
    [
        (facts(), PERIOD_END, None),
        (facts(vn("2026-10-07", "15:00")), PERIOD_END, vn("2026-10-07", "15:00")),
        (facts(vn("2026-10-07", "15:00")), vn("2026-10-07", "14:59"), None),
        (facts(None, supp(vn("2026-10-06", "10:00"))), PERIOD_END, vn("2026-10-06", "10:00")),
        (facts(vn("2026-10-20"), supp(vn("2026-10-06", "10:00"))), PERIOD_END, vn("2026-10-06", "10:00")),
        (facts(None, ONE_DAY_SUPPLEMENT), PERIOD_END, None),
        (facts(None, ONE_DAY_SUPPLEMENT), vn("2026-10-06", "12:00"), vn("2026-10-06", "10:00")),
    ],
)
def test_end_of_processing(facts_: ClockFacts, as_of: datetime, expected: datetime | None) -> None:
    assert end_of_processing(facts_, as_of) == expected


def test_supplement_time_is_the_raw_interval_of_closed_requests() -> None:
    """Supplement time = completion of the supplement − time of the request, raw (QĐ 766 index 2.1, qd766 formula)."""
    f = facts(None, ONE_DAY_SUPPLEMENT, OVERNIGHT_SUPPLEMENT, supp(vn("2026-10-09", "10:00")))
    assert supplement_time(f, PERIOD_END) == 24 * H + 16.5 * H
    assert supplement_time(f, vn("2026-10-06", "12:00")) == timedelta(0)  # still open then


@pytest.mark.parametrize(
    ("facts_", "expected"),
    [
        (facts(), APPOINTMENT),
        (facts(None, ONE_DAY_SUPPLEMENT), vn("2026-10-09", "09:00")),
        (facts(None, OVERNIGHT_SUPPLEMENT), vn("2026-10-08", "17:00")),  # limit Fri 01:30: the last closing before
        (facts(appointment=None), None),
    ],
)
def test_deadline(facts_: ClockFacts, expected: datetime | None) -> None:
    assert deadline(facts_, PERIOD_END, CAL) == expected


def test_appointment_from_the_calendar_and_a_supplement_over_tet() -> None:
    received = vn("2026-02-12", "10:00")
    appointment = CAL.appointment(received, 3)  # Fri 13, Mon 23, Tue 24 February
    closed = supp(vn("2026-02-13", "16:00"), vn("2026-02-23", "09:30"))  # 9 days 17h30 raw, over Tết
    f = facts(vn("2026-02-24", "13:00"), closed, received=received, appointment=appointment)
    assert on_time_limit(f, vn("2026-02-28")) == vn("2026-03-06", "03:30")
    assert deadline(f, vn("2026-02-28"), CAL) == vn("2026-03-05", "17:00")
    assert judge(f, vn("2026-02-28"), CAL) is Verdict.ON_TIME


@pytest.mark.parametrize(
    "build",
    [
        lambda: ClockFacts(datetime(2026, 10, 5, 9), 3, None, None),
        lambda: ClockFacts(RECEIVED, 3, datetime(2026, 10, 8, 9), None),
        lambda: ClockFacts(RECEIVED, 3, None, datetime(2026, 10, 8, 9)),
        lambda: Supplement(datetime(2026, 10, 6, 10), None),
        lambda: Supplement(RECEIVED, datetime(2026, 10, 6, 10)),
        lambda: judge(facts(), datetime(2026, 10, 31), CAL),
    ],
)
def test_naive_datetimes_are_rejected(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValueError, match="timezone-aware"):
        build()


def test_a_supplement_cannot_be_resubmitted_before_it_was_requested() -> None:
    with pytest.raises(ValueError, match="resubmitted before"):
        supp(vn("2026-10-06", "10:00"), vn("2026-10-06", "09:00"))


def test_legal_days_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="legal_days"):
        facts(legal_days=-1)
