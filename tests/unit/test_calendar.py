"""Working days and office hours in Vietnam time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib.domain.actions import ActOnDossier, act
from chalicelib.domain.calendar import (
    DAY_OFF,
    VN_TZ,
    WORKING_DAY,
    OfficeHours,
    ProcessingTime,
    Season,
    TimeUnit,
    WorkingCalendar,
    add_months,
    business_date,
    month_of,
    parse_office_hours,
)
from chalicelib.domain.catalogue import procedure_from_data, procedure_to_data
from chalicelib.domain.dossier import Applicant, Dossier
from chalicelib.domain.history import Actor
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.vocabulary import ApplicantKind, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.settings import Settings
from chalicelib.store.calendar import province_calendar

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
        (vn("2026-10-05", "11:30"), vn("2026-10-05", "13:30")),  # the lunch break: the afternoon's opening
        (vn("2026-10-05", "12:15"), vn("2026-10-05", "13:30")),
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
    with pytest.raises(ValueError, match="processing time"):
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
        (vn("2026-10-05", "06:00"), vn("2026-10-05", "18:00"), 7.5 * H),  # one whole office day, lunch excluded
        (vn("2026-10-05", "09:00"), vn("2026-10-06", "09:00"), 7.5 * H),
        (vn("2026-10-05", "11:00"), vn("2026-10-05", "14:00"), H),  # over the lunch break
        (vn("2026-10-05", "18:00"), vn("2026-10-06", "07:00"), timedelta(0)),  # overnight
        (vn("2026-10-09", "16:00"), vn("2026-10-12", "08:30"), 2 * H),  # over a weekend
        (vn("2026-10-31", "10:00"), vn("2026-11-01", "15:00"), timedelta(0)),  # weekend only
        (vn("2026-02-13", "16:00"), vn("2026-02-23", "08:30"), 2 * H),  # over Tết
        (vn("2026-02-27", "16:00"), vn("2026-03-02", "08:30"), 9.5 * H),  # incl. working Saturday
        (vn("2026-10-05", "09:00"), vn("2026-10-12", "09:00"), 37.5 * H),  # five office days
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
        (vn("2026-10-05", "07:30"), vn("2026-10-05", "11:15"), 0.5),
        (vn("2026-10-05", "07:30"), vn("2026-10-05", "13:30"), 4 / 7.5),  # the lunch break is not working time
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
        (vn("2026-10-05", "09:00"), 7.5 * H, vn("2026-10-06", "09:00")),  # one office day
        (vn("2026-10-05", "11:00"), H, vn("2026-10-05", "14:00")),  # over the lunch break
        (vn("2026-10-05", "10:30"), H, vn("2026-10-05", "11:30")),  # lands exactly on the lunch break: stays
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


def test_office_hours_default_to_a_seven_and_a_half_hour_day_with_a_lunch_break() -> None:
    assert OfficeHours().sessions == ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert OfficeHours().length == 7.5 * H


@pytest.mark.parametrize(
    ("opens", "closes"),
    [(time(17, 0), time(7, 30)), (time(8, 0), time(8, 0))],
)
def test_office_hours_must_open_before_closing(opens: time, closes: time) -> None:
    with pytest.raises(ValueError, match="before it closes"):
        OfficeHours(opens, closes)


def test_custom_office_hours_drive_every_calculation() -> None:
    cal = WorkingCalendar(hours=OfficeHours(time(8, 0), time(16, 0), None, None))
    assert cal.clock_start(vn("2026-10-05", "07:45")) == vn("2026-10-05", "08:00")
    assert cal.clock_start(vn("2026-10-05", "16:30")) == vn("2026-10-06", "08:00")
    assert cal.appointment(vn("2026-10-05", "09:00"), 0) == vn("2026-10-05", "16:00")
    assert cal.working_days_elapsed(vn("2026-10-05", "08:00"), vn("2026-10-05", "12:00")) == 0.5


# --- The calendar of issue 8: worked Saturdays, the same-day cut-off, office hours and processing-time units ---


@pytest.mark.parametrize(
    ("day", "year"),
    [
        ("2025-04-26", 2025),  # worked for Friday 2 May 2025 (30/4–1/5 bridge)
        ("2026-08-22", 2026),  # worked for Monday 31 August 2026 (National Day bridge)
    ],
)
def test_compensatory_working_saturdays_are_working_days(day: str, year: int) -> None:
    """A Saturday worked for a bridge day is a working day (the government's swap notices, via `holidays` VN weekend_workdays)."""
    calendar = province_calendar([year])
    assert d(day).weekday() == 5
    assert calendar.is_working_day(d(day))
    bridge = {2025: d("2025-05-02"), 2026: d("2026-08-31")}[year]
    assert not calendar.is_working_day(bridge)
    assert calendar.next_working_day(d(day) - timedelta(days=1)) == d(day)
    received = datetime.combine(d(day) - timedelta(days=1), time(10, 0), tzinfo=VN_TZ)  # the Friday before
    assert calendar.appointment(received, 1) == datetime.combine(d(day), time(10, 0), tzinfo=VN_TZ)


def test_a_province_declaration_wins_over_the_national_calendar() -> None:
    calendar = province_calendar([2025], declared_days_off=[d("2025-04-26")], declared_working_days=[d("2025-05-02")])
    assert not calendar.is_working_day(d("2025-04-26"))
    assert calendar.is_working_day(d("2025-05-02"))
    assert WORKING_DAY != DAY_OFF


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (vn("2026-10-05", "09:00"), vn("2026-10-05", "17:00")),
        (vn("2026-10-05", "15:00"), vn("2026-10-05", "17:00")),  # at 15:00 is not after it
        (vn("2026-10-05", "15:01"), vn("2026-10-06", "17:00")),
        (vn("2026-10-05", "16:45"), vn("2026-10-06", "17:00")),
        (vn("2026-10-09", "15:30"), vn("2026-10-12", "17:00")),  # Friday afternoon: Monday
        (vn("2026-02-13", "15:30"), vn("2026-02-23", "17:00")),  # before Tết: the first day back
        (vn("2026-10-05", "18:00"), vn("2026-10-06", "17:00")),  # after hours: the clock starts at 07:30 next day
    ],
)
def test_same_day_procedures_received_after_15_00_are_due_the_next_working_day(
    received: datetime, expected: datetime
) -> None:
    """Same-day work received after 15:00 is due the next working day (Decree 23/2015/NĐ-CP art. 21; civil-status texts)."""
    assert CAL.appointment(received, ProcessingTime(0)) == expected
    assert CAL.appointment(received, 0) == expected


def test_the_same_day_cut_off_is_configuration() -> None:
    """The cut-off hour is the province's configuration (`SAME_DAY_CUTOFF`), 15:00 by default (Decree 23/2015/NĐ-CP art. 21)."""
    assert Settings.from_env({}).same_day_cutoff == time(15, 0)
    settings = Settings.from_env({"SAME_DAY_CUTOFF": "16:00"})
    calendar = province_calendar([2026], same_day_cutoff=settings.same_day_cutoff)
    assert calendar.appointment(vn("2026-10-05", "15:30"), 0) == vn("2026-10-05", "17:00")
    assert calendar.appointment(vn("2026-10-05", "16:30"), 0) == vn("2026-10-06", "17:00")


HUE = "04=07:30-11:30,13:30-17:30;10=07:30-11:30,13:00-17:00"


def test_office_hours_are_province_configuration_with_a_lunch_break() -> None:
    """Office hours, lunch break included, are province configuration, by season (Huế: Decision 4010/QĐ-UBND, 2025)."""
    assert Settings.from_env({}).office_hours == (Season(1, OfficeHours(time(7, 30), time(17, 0), time(11, 30), time(13, 30))),)
    seasons = Settings.from_env({"OFFICE_HOURS": HUE}).office_hours
    assert seasons == parse_office_hours(HUE)
    hue = province_calendar([2026], seasons=seasons)
    summer, winter = d("2026-06-01"), d("2026-11-02")
    assert str(hue.hours_on(summer)) == "07:30-11:30,13:30-17:30"
    assert str(hue.hours_on(winter)) == str(hue.hours_on(d("2026-01-05"))) == "07:30-11:30,13:00-17:00"
    assert hue.clock_start(vn("2026-06-01", "13:15")) == vn("2026-06-01", "13:30")  # summer: still lunch
    assert hue.clock_start(vn("2026-11-02", "13:15")) == vn("2026-11-02", "13:15")  # winter: open again
    assert hue.closing(summer) == vn("2026-06-01", "17:30")
    assert hue.appointment(vn("2026-06-01", "16:00"), 0) == vn("2026-06-02", "17:30")  # after 15:00, summer close
    assert hue.working_time_between(vn("2026-06-01", "00:00"), vn("2026-06-02", "00:00")) == 8 * H
    assert hue.working_time_between(vn("2026-11-02", "00:00"), vn("2026-11-03", "00:00")) == 8 * H


@pytest.mark.parametrize(
    "text",
    ["", "07:30", "07:30-11:30,13:30-17:00,18:00-19:00", "13=07:30-17:00", "04=07:30-11:30;04=08:00-16:00",
     "11:30-07:30", "07:30-12:00,11:00-17:00"],
)
def test_office_hours_that_make_no_sense_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_office_hours(text)


@pytest.mark.parametrize(
    ("received", "time_", "expected"),
    [
        # hours: counted in office hours, lunch break, nights and days off skipped
        (vn("2026-10-05", "10:00"), ProcessingTime(4, TimeUnit.HOURS), vn("2026-10-05", "16:00")),
        (vn("2026-10-05", "07:30"), ProcessingTime(4, TimeUnit.HOURS), vn("2026-10-05", "11:30")),
        (vn("2026-10-09", "16:00"), ProcessingTime(4, TimeUnit.HOURS), vn("2026-10-12", "10:30")),  # Fri → Mon
        (vn("2026-10-05", "12:00"), ProcessingTime(8, TimeUnit.HOURS), vn("2026-10-06", "14:00")),  # from lunch
        # working days: the same clock time n working days later
        (vn("2026-10-05", "09:00"), ProcessingTime(3, TimeUnit.WORKING_DAYS), vn("2026-10-08", "09:00")),
        # calendar days: the n-th day after, at closing; a day off moves it to the next working day
        (vn("2026-10-05", "09:00"), ProcessingTime(15, TimeUnit.DAYS), vn("2026-10-20", "17:00")),
        (vn("2026-10-05", "09:00"), ProcessingTime(5, TimeUnit.DAYS), vn("2026-10-12", "17:00")),  # Sat 10 → Mon
        (vn("2026-04-25", "09:00"), ProcessingTime(5, TimeUnit.DAYS), vn("2026-05-04", "17:00")),  # clock from Mon 27
        # months: the same day n months later (the month's last day when shorter), then the next working day
        (vn("2026-01-15", "09:00"), ProcessingTime(1, TimeUnit.MONTHS), vn("2026-02-23", "17:00")),  # Sun 15 Feb, Tết
        (vn("2026-03-31", "09:00"), ProcessingTime(1, TimeUnit.MONTHS), vn("2026-05-04", "17:00")),  # 30/4, 1/5 off
        (vn("2026-10-05", "09:00"), ProcessingTime(3, TimeUnit.MONTHS), vn("2027-01-05", "17:00")),
    ],
)
def test_appointment_honours_the_processing_time_unit(
    received: datetime, time_: ProcessingTime, expected: datetime
) -> None:
    """The appointment honours the unit: hours, working days, days, months (national TTHC database; Civil Code art. 147–148)."""
    assert CAL.appointment(received, time_) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [("2026-01-31", 1, "2026-02-28"), ("2028-01-31", 1, "2028-02-29"), ("2026-11-30", 3, "2027-02-28"),
     ("2026-10-05", 12, "2027-10-05"), ("2026-10-05", 0, "2026-10-05")],
)
def test_add_months_keeps_the_day_or_the_months_last(day: str, months: int, expected: str) -> None:
    assert add_months(d(day), months) == d(expected)


@pytest.mark.parametrize(
    ("amount", "unit"),
    [(-1, TimeUnit.WORKING_DAYS), (0, TimeUnit.HOURS), (0, TimeUnit.DAYS), (0, TimeUnit.MONTHS), (True, TimeUnit.DAYS)],
)
def test_a_processing_time_is_a_whole_amount_and_only_working_days_may_be_zero(amount: int, unit: TimeUnit) -> None:
    with pytest.raises(ValueError, match="processing time"):
        ProcessingTime(amount, unit)


CATALOGUE_ENTRY = {
    "code": "2.000815", "name": "Chứng thực bản sao từ bản chính", "field": "Chứng thực", "level": "commune",
    "department": None, "online_form": "partial", "internal": False, "fees": [{"name": "Lệ phí", "amount": 2000}],
    "required_documents": [{"type": "ban_chinh", "name": "Bản chính"}], "postal_result": False, "paper_result": True,
}


def test_catalogue_processing_days_are_read_as_working_days() -> None:
    """Old catalogue data's `processing_days` is read as working days and written back with its unit (the index's data)."""
    old = procedure_from_data({**CATALOGUE_ENTRY, "processing_days": 3})
    assert old.processing_time == ProcessingTime(3, TimeUnit.WORKING_DAYS)
    data = procedure_to_data(old)
    assert data["processing_time"] == {"amount": 3, "unit": "working_days"}
    assert "processing_days" not in data
    hours = procedure_from_data({**CATALOGUE_ENTRY, "processing_time": {"amount": 4, "unit": "hours"}})
    assert hours.processing_time == ProcessingTime(4, TimeUnit.HOURS)
    assert procedure_from_data(procedure_to_data(hours)) == hours


def test_the_seeded_province_is_configured_with_hues_office_hours() -> None:
    """Huế (province 46) works 07:30–11:30/13:30–17:30 Apr–Sep and 07:30–11:30/13:00–17:00 Oct–Mar (Decision 4010/QĐ-UBND)."""
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text(encoding="utf-8"))
    settings = Settings.from_env(config["environment_variables"])
    assert settings.province_code == 46
    assert settings.office_hours == parse_office_hours(HUE)
    assert settings.same_day_cutoff == time(15, 0)


def _received(processing: ProcessingTime | None, legal_days: int, at: datetime) -> Dossier:
    """A registered online dossier with `processing` time (None: stored before units), received by an officer at `at`."""
    agency = "T46.X01"
    subject = Dossier(
        id="dos-1", code=f"{agency}-261005-0001", owner_id="user-1", procedure_code="1.000001", procedure_name="Thủ tục",
        agency_code=agency, agency_path=("T46", agency), agency_level="commune", channel=Channel.ONLINE,
        online_form=OnlineForm.FULL, applicant=Applicant(ApplicantKind.CITIZEN, "Nguyễn Văn An", "046123456789",
                                                         "0912345678"),
        documents=(), result_delivery=ResultDelivery.ONLINE, status=Status.REGISTERED, submitted_at=at,
        appointment_at=at, fees_total=0, legal_days=legal_days, processing_time=processing, version=1,
    )
    officer = Actor(user_id="officer-1", role="officer", display_name="Lê Văn Cường", agency_code=agency)
    act(subject, ActOnDossier(subject.id, Action.RECEIVE, 1), officer, CAL, now=at, event_id="evt-1")
    return subject


@pytest.mark.parametrize(
    ("processing", "legal_days", "expected"),
    [
        (ProcessingTime(4, TimeUnit.HOURS), 0, vn("2026-10-05", "16:00")),
        (ProcessingTime(2, TimeUnit.WORKING_DAYS), 2, vn("2026-10-07", "10:00")),
        (ProcessingTime(5, TimeUnit.DAYS), 0, vn("2026-10-12", "17:00")),
        (ProcessingTime(1, TimeUnit.MONTHS), 0, vn("2026-11-05", "17:00")),
        (ProcessingTime(0), 0, vn("2026-10-05", "17:00")),
        (None, 2, vn("2026-10-07", "10:00")),  # a dossier stored before units: its legal days, in working days
    ],
)
def test_receipt_sets_the_appointment_from_the_procedures_processing_time_and_unit(
    processing: ProcessingTime | None, legal_days: int, expected: datetime
) -> None:
    """Receipt computes the appointment from the processing time in its unit (national TTHC database; Decree 118/2025)."""
    subject = _received(processing, legal_days, vn("2026-10-05", "10:00"))
    assert subject.appointment_at == subject.due_at == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (vn("2026-10-05", "10:00"), vn("2026-10-05", "10:00")),  # open
        (vn("2026-10-05", "12:00"), vn("2026-10-05", "11:30")),  # lunch: the morning's end
        (vn("2026-10-05", "13:30"), vn("2026-10-05", "13:30")),
        (vn("2026-10-05", "20:00"), vn("2026-10-05", "17:00")),
        (vn("2026-10-06", "07:00"), vn("2026-10-05", "17:00")),  # before opening: yesterday's closing
        (vn("2026-10-12", "01:00"), vn("2026-10-09", "17:00")),  # Monday night: Friday's closing
        (vn("2026-02-23", "07:00"), vn("2026-02-13", "17:00")),  # after Tết: the last day before it
    ],
)
def test_last_open_instant(at: datetime, expected: datetime) -> None:
    assert CAL.last_open_instant(at) == expected
