"""Working days and office hours in Vietnam time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from chalicelib.domain.calendar import (
    VN_TZ,
    OfficeHours,
    WorkingCalendar,
    business_date,
    month_of,
)

TET_2026 = frozenset(date(2026, 2, d) for d in range(16, 21))  # Mon 16 – Fri 20 February
REUNIFICATION = frozenset({date(2026, 4, 30), date(2026, 5, 1)})  # Thu, Fri
COMPENSATORY_SATURDAY = date(2026, 2, 28)

CAL = WorkingCalendar(
    days_off=TET_2026 | REUNIFICATION,
    working_days_on_weekend=frozenset({COMPENSATORY_SATURDAY}),
)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def vn(day: str, clock: str = "00:00") -> datetime:
    """An instant given in Vietnam local time, e.g. vn("2026-10-05", "09:00")."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=VN_TZ)


def d(day: str) -> date:
    return date.fromisoformat(day)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-10-05", True),  # Monday
        ("2026-10-09", True),  # Friday
        ("2026-10-31", False),  # Saturday
        ("2026-11-01", False),  # Sunday
        ("2026-02-13", True),  # Friday before Tết
        ("2026-02-16", False),  # Tết, Monday
        ("2026-02-20", False),  # Tết, Friday
        ("2026-02-23", True),  # first day back
        ("2026-02-28", True),  # compensatory working Saturday
        ("2026-03-07", False),  # an ordinary Saturday
        ("2026-04-30", False),  # Reunification Day
        ("2026-05-01", False),  # Labour Day
    ],
)
def test_is_working_day(day: str, expected: bool) -> None:
    assert CAL.is_working_day(d(day)) is expected


def test_a_declared_working_day_wins_over_a_day_off() -> None:
    both = WorkingCalendar(days_off=frozenset({d("2026-02-28")}), working_days_on_weekend=frozenset({d("2026-02-28")}))
    assert both.is_working_day(d("2026-02-28"))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-10-05", "2026-10-06"),  # Mon → Tue
        ("2026-10-30", "2026-11-02"),  # Fri → Mon
        ("2026-10-31", "2026-11-02"),  # Sat → Mon
        ("2026-02-13", "2026-02-23"),  # across the Tết block
        ("2026-02-17", "2026-02-23"),  # from inside the Tết block
        ("2026-02-27", "2026-02-28"),  # Fri → compensatory Saturday
        ("2026-02-28", "2026-03-02"),  # compensatory Saturday → Mon
        ("2026-04-29", "2026-05-04"),  # across 30/4 and 1/5
    ],
)
def test_next_working_day_is_strictly_after(day: str, expected: str) -> None:
    assert CAL.next_working_day(d(day)) == d(expected)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (vn("2026-10-05", "09:00"), vn("2026-10-05", "09:00")),  # office open
        (vn("2026-10-05", "07:30"), vn("2026-10-05", "07:30")),  # at opening
        (vn("2026-10-05", "16:59"), vn("2026-10-05", "16:59")),
        (vn("2026-10-05", "06:15"), vn("2026-10-05", "07:30")),  # before opening
        (vn("2026-10-05", "17:00"), vn("2026-10-06", "07:30")),  # closing time counts as closed
        (vn("2026-10-05", "22:00"), vn("2026-10-06", "07:30")),  # after hours
        (vn("2026-10-30", "18:00"), vn("2026-11-02", "07:30")),  # Friday evening
        (vn("2026-10-31", "10:00"), vn("2026-11-02", "07:30")),  # Saturday
        (vn("2026-02-17", "10:00"), vn("2026-02-23", "07:30")),  # on a Tết holiday
        (vn("2026-02-13", "20:00"), vn("2026-02-23", "07:30")),  # evening before Tết
        (vn("2026-02-28", "10:00"), vn("2026-02-28", "10:00")),  # compensatory Saturday
        (vn("2026-04-30", "08:00"), vn("2026-05-04", "07:30")),
        # given in UTC: 00:00Z is 07:00 in Vietnam, before opening
        (datetime(2026, 10, 5, 0, 0, tzinfo=UTC), vn("2026-10-05", "07:30")),
        # given at +09:00: 11:00 there is 09:00 in Vietnam
        (datetime(2026, 10, 5, 11, 0, tzinfo=timezone(9 * H)), vn("2026-10-05", "09:00")),
    ],
)
def test_clock_start(at: datetime, expected: datetime) -> None:
    result = CAL.clock_start(at)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        (vn("2026-10-05", "09:00"), 1, vn("2026-10-06", "09:00")),  # Mon → Tue, same clock
        (vn("2026-10-05", "09:00"), 5, vn("2026-10-12", "09:00")),  # over a weekend
        (vn("2026-10-30", "18:00"), 1, vn("2026-11-03", "07:30")),  # Fri evening → Mon 07:30 → Tue
        (vn("2026-10-05", "06:00"), 1, vn("2026-10-06", "07:30")),  # before opening
        (vn("2026-10-05", "09:00"), 0, vn("2026-10-05", "17:00")),  # same day, closing time
        (vn("2026-10-05", "06:00"), 0, vn("2026-10-05", "17:00")),
        (vn("2026-10-05", "17:30"), 0, vn("2026-10-06", "17:00")),  # after hours: next day's close
        (vn("2026-10-31", "10:00"), 0, vn("2026-11-02", "17:00")),  # Saturday
        (vn("2026-02-13", "10:00"), 1, vn("2026-02-23", "10:00")),  # across Tết
        (vn("2026-02-12", "10:00"), 3, vn("2026-02-24", "10:00")),  # Fri 13, Mon 23, Tue 24
        (vn("2026-02-17", "10:00"), 1, vn("2026-02-24", "07:30")),  # received during Tết
        (vn("2026-02-27", "14:00"), 1, vn("2026-02-28", "14:00")),  # compensatory Saturday counts
        (vn("2026-04-29", "15:00"), 1, vn("2026-05-04", "15:00")),
        (datetime(2026, 10, 31, 18, 0, tzinfo=UTC), 1, vn("2026-11-03", "07:30")),  # Sun 01:00 VN
    ],
)
def test_appointment(received: datetime, days: int, expected: datetime) -> None:
    result = CAL.appointment(received, days)
    assert result == expected
    assert result.tzinfo is UTC


def test_appointment_rejects_negative_days() -> None:
    with pytest.raises(ValueError, match="processing_days"):
        CAL.appointment(vn("2026-10-05", "09:00"), -1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.clock_start(datetime(2026, 10, 5, 9)),
        lambda: CAL.appointment(datetime(2026, 10, 5, 9), 1),
        lambda: CAL.working_time_between(datetime(2026, 10, 5, 9), vn("2026-10-06")),
        lambda: CAL.working_time_between(vn("2026-10-05"), datetime(2026, 10, 6, 9)),
        lambda: CAL.working_days_elapsed(datetime(2026, 10, 5, 9), vn("2026-10-06")),
        lambda: CAL.add_working_time(datetime(2026, 10, 5, 9), H),
        lambda: business_date(datetime(2026, 10, 5, 9)),
        lambda: month_of(datetime(2026, 10, 5, 9)),
    ],
)
def test_naive_datetimes_are_rejected(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (vn("2026-10-05", "09:00"), vn("2026-10-05", "11:00"), 2 * H),
        (vn("2026-10-05", "06:00"), vn("2026-10-05", "18:00"), 9.5 * H),  # one whole office day
        (vn("2026-10-05", "09:00"), vn("2026-10-06", "09:00"), 9.5 * H),
        (vn("2026-10-05", "18:00"), vn("2026-10-06", "07:00"), timedelta(0)),  # overnight
        (vn("2026-10-09", "16:00"), vn("2026-10-12", "08:30"), 2 * H),  # over a weekend
        (vn("2026-10-31", "10:00"), vn("2026-11-01", "15:00"), timedelta(0)),  # weekend only
        (vn("2026-02-13", "16:00"), vn("2026-02-23", "08:30"), 2 * H),  # over Tết
        (vn("2026-02-27", "16:00"), vn("2026-03-02", "08:30"), 11.5 * H),  # incl. working Saturday
        (vn("2026-10-05", "09:00"), vn("2026-10-12", "09:00"), 47.5 * H),  # five office days
        (vn("2026-10-05", "11:00"), vn("2026-10-05", "09:00"), timedelta(0)),  # end before start
        (vn("2026-10-05", "09:00"), vn("2026-10-05", "09:00"), timedelta(0)),
        (datetime(2026, 10, 5, 2, 0, tzinfo=UTC), datetime(2026, 10, 5, 4, 0, tzinfo=UTC), 2 * H),
    ],
)
def test_working_time_between(start: datetime, end: datetime, expected: timedelta) -> None:
    assert CAL.working_time_between(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (vn("2026-10-05", "09:00"), vn("2026-10-06", "09:00"), 1.0),
        (vn("2026-10-05", "07:30"), vn("2026-10-05", "12:15"), 0.5),
        (vn("2026-10-05", "09:00"), vn("2026-10-12", "09:00"), 5.0),
        (vn("2026-10-30", "18:00"), vn("2026-11-02", "17:00"), 1.0),
        (vn("2026-10-05", "09:00"), vn("2026-10-04", "09:00"), 0.0),
    ],
)
def test_working_days_elapsed(start: datetime, end: datetime, expected: float) -> None:
    assert CAL.working_days_elapsed(start, end) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("at", "amount", "expected"),
    [
        (vn("2026-10-05", "09:00"), 2 * H, vn("2026-10-05", "11:00")),
        (vn("2026-10-05", "09:00"), timedelta(0), vn("2026-10-05", "09:00")),
        (vn("2026-10-05", "17:00"), timedelta(0), vn("2026-10-05", "17:00")),  # stays at closing
        (vn("2026-10-05", "16:00"), 2 * H, vn("2026-10-06", "08:30")),
        (vn("2026-10-05", "17:00"), H, vn("2026-10-06", "08:30")),
        (vn("2026-10-09", "16:00"), H, vn("2026-10-09", "17:00")),  # lands exactly on closing
        (vn("2026-10-09", "16:00"), H + M, vn("2026-10-12", "07:31")),
        (vn("2026-10-31", "10:00"), H, vn("2026-11-02", "08:30")),  # from a Saturday
        (vn("2026-02-13", "16:00"), 2 * H, vn("2026-02-23", "08:30")),  # over Tết
        (vn("2026-10-05", "09:00"), 9.5 * H, vn("2026-10-06", "09:00")),  # one office day
    ],
)
def test_add_working_time(at: datetime, amount: timedelta, expected: datetime) -> None:
    result = CAL.add_working_time(at, amount)
    assert result == expected
    assert result.tzinfo is UTC


def test_add_working_time_rejects_negative_amounts() -> None:
    with pytest.raises(ValueError, match="amount"):
        CAL.add_working_time(vn("2026-10-05", "09:00"), -H)


@pytest.mark.parametrize(
    "received",
    [
        vn("2026-10-05", "09:00"),
        vn("2026-10-30", "18:00"),
        vn("2026-02-12", "16:45"),
        vn("2026-02-27", "07:30"),
        vn("2026-04-29", "06:00"),
    ],
)
@pytest.mark.parametrize("days", [1, 2, 3, 7, 15])
def test_appointment_is_n_office_days_of_working_time(received: datetime, days: int) -> None:
    start = CAL.clock_start(received)
    appointment = CAL.appointment(received, days)
    assert CAL.working_time_between(received, appointment) == days * CAL.hours.length
    # From an opening time the sum lands on the previous closing time: the same working instant.
    reached = CAL.add_working_time(start, days * CAL.hours.length)
    assert reached <= appointment
    assert CAL.working_time_between(reached, appointment) == timedelta(0)
    assert CAL.working_days_elapsed(received, appointment) == pytest.approx(days)


@pytest.mark.parametrize(
    ("at", "day", "month"),
    [
        (datetime(2026, 10, 31, 18, 0, tzinfo=UTC), "2026-11-01", "2026-11"),  # already November in VN
        (datetime(2026, 10, 31, 16, 59, tzinfo=UTC), "2026-10-31", "2026-10"),
        (datetime(2026, 10, 31, 17, 0, tzinfo=UTC), "2026-11-01", "2026-11"),  # VN midnight
        (datetime(2026, 12, 31, 17, 30, tzinfo=UTC), "2027-01-01", "2027-01"),  # year boundary
        (vn("2026-11-01", "00:30"), "2026-11-01", "2026-11"),
        (datetime(2026, 11, 1, 1, 0, tzinfo=timezone(9 * H)), "2026-10-31", "2026-10"),  # 23:00 VN
    ],
)
def test_business_date_and_month_are_in_vietnam_time(at: datetime, day: str, month: str) -> None:
    assert business_date(at) == d(day)
    assert month_of(at) == month


def test_office_hours_default_to_a_nine_and_a_half_hour_day() -> None:
    assert OfficeHours().length == 9.5 * H


@pytest.mark.parametrize(
    ("opens", "closes"),
    [(time(17, 0), time(7, 30)), (time(8, 0), time(8, 0))],
)
def test_office_hours_must_open_before_closing(opens: time, closes: time) -> None:
    with pytest.raises(ValueError, match="before it closes"):
        OfficeHours(opens, closes)


def test_custom_office_hours_drive_every_calculation() -> None:
    cal = WorkingCalendar(hours=OfficeHours(time(8, 0), time(16, 0)))
    assert cal.clock_start(vn("2026-10-05", "07:45")) == vn("2026-10-05", "08:00")
    assert cal.clock_start(vn("2026-10-05", "16:30")) == vn("2026-10-06", "08:00")
    assert cal.appointment(vn("2026-10-05", "09:00"), 0) == vn("2026-10-05", "16:00")
    assert cal.working_days_elapsed(vn("2026-10-05", "08:00"), vn("2026-10-05", "12:00")) == 0.5
