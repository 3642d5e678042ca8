"""Working days, office hours and processing times in Vietnam time: clock start, appointment dates, working time."""

from __future__ import annotations

import calendar as _months
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def require_aware(at: datetime, name: str) -> None:
    """Raise ValueError if `at` is naive: every instant in the domain carries its offset."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")


def business_date(at: datetime) -> date:
    """The date of the instant `at` in Vietnam time."""
    require_aware(at, "at")
    return at.astimezone(VN_TZ).date()


def month_of(at: datetime) -> str:
    """The month of the instant `at` in Vietnam time, as "YYYY-MM"."""
    return business_date(at).strftime("%Y-%m")


class TimeUnit(str, Enum):
    """The unit of a procedure's processing time, as the national procedure database gives it."""

    HOURS = "hours"  # giờ làm việc: counted in office hours
    WORKING_DAYS = "working_days"  # ngày làm việc
    DAYS = "days"  # ngày: calendar days
    MONTHS = "months"  # tháng


@dataclass(frozen=True)
class ProcessingTime:
    """A procedure's legal processing time: `amount` of `unit`; 0 working days is "the same day" (trong ngày)."""

    amount: int
    unit: TimeUnit = TimeUnit.WORKING_DAYS

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"a processing time must be a whole number >= 0, got {self.amount!r}")
        if self.amount == 0 and self.unit != TimeUnit.WORKING_DAYS:
            raise ValueError(f"a same-day processing time is 0 working days, not 0 {self.unit.value}")

    @property
    def same_day(self) -> bool:
        return self.amount == 0

    @property
    def working_days(self) -> int | None:
        """The time in working days when that is its unit; None for hours, calendar days and months."""
        return self.amount if self.unit == TimeUnit.WORKING_DAYS else None


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"a clock time is HH:MM, got {text!r}") from exc


@dataclass(frozen=True)
class OfficeHours:
    """One office day in Vietnam local time: open on [opens, closes) less the lunch break [lunch_starts, lunch_ends).

    The default (07:30–11:30, 13:30–17:00) is the common schedule; a province configures its own (`Season`).
    """

    opens: time = time(7, 30)
    closes: time = time(17, 0)
    lunch_starts: time | None = time(11, 30)
    lunch_ends: time | None = time(13, 30)

    def __post_init__(self) -> None:
        clocks = (self.opens, self.closes, self.lunch_starts, self.lunch_ends)
        if any(c is not None and c.tzinfo is not None for c in clocks):
            raise ValueError("office hours are local Vietnam times and must be naive")
        if self.opens >= self.closes:
            raise ValueError(f"office opens ({self.opens}) must be before it closes ({self.closes})")
        if (self.lunch_starts is None) != (self.lunch_ends is None):
            raise ValueError("a lunch break needs both its start and its end")
        if self.lunch_starts is not None and self.lunch_ends is not None and not (
            self.opens < self.lunch_starts < self.lunch_ends < self.closes
        ):
            raise ValueError(f"the lunch break ({self.lunch_starts}–{self.lunch_ends}) must lie inside office hours "
                             f"({self.opens}–{self.closes})")

    @property
    def sessions(self) -> tuple[tuple[time, time], ...]:
        """The day's open intervals, in order: morning and afternoon, or one when there is no lunch break."""
        if self.lunch_starts is None or self.lunch_ends is None:
            return ((self.opens, self.closes),)
        return ((self.opens, self.lunch_starts), (self.lunch_ends, self.closes))

    @property
    def length(self) -> timedelta:
        """How long one office day is, lunch break excluded (7h30 by default)."""
        day = date(2000, 1, 1)
        return sum((datetime.combine(day, end) - datetime.combine(day, start) for start, end in self.sessions),
                   timedelta(0))

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """`"07:30-11:30,13:30-17:00"` (with a lunch break) or `"08:00-16:00"` (without)."""
        sessions = [tuple(_clock(c) for c in part.split("-")) for part in text.split(",")]
        if any(len(s) != 2 for s in sessions) or len(sessions) not in (1, 2):
            raise ValueError(f"office hours are 'HH:MM-HH:MM' or 'HH:MM-HH:MM,HH:MM-HH:MM', got {text!r}")
        if len(sessions) == 1:
            return cls(sessions[0][0], sessions[0][1], None, None)
        (opens, lunch_starts), (lunch_ends, closes) = sessions
        return cls(opens, closes, lunch_starts, lunch_ends)

    def __str__(self) -> str:
        return ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.sessions)


@dataclass(frozen=True)
class Season:
    """Office hours from the first day of `from_month` until the next season starts (wrapping over New Year)."""

    from_month: int
    hours: OfficeHours

    def __post_init__(self) -> None:
        if not 1 <= self.from_month <= 12:
            raise ValueError(f"a season starts in a month 1–12, got {self.from_month}")


def parse_office_hours(text: str) -> tuple[Season, ...]:
    """A province's office hours as configured: one day's hours all year (`"07:30-11:30,13:30-17:00"`) or one per
    season, each after its first month (`"04=07:30-11:30,13:30-17:30;10=07:30-11:30,13:00-17:00"`)."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        return (Season(1, OfficeHours.parse(parts[0])),)
    seasons = []
    for part in parts:
        month, sep, hours = part.partition("=")
        if not sep or not month.strip().isdigit():
            raise ValueError(f"a season is 'MM=HH:MM-HH:MM,HH:MM-HH:MM', got {part!r}")
        seasons.append(Season(int(month), OfficeHours.parse(hours)))
    return seasons_in_order(seasons)


def seasons_in_order(seasons: list[Season] | tuple[Season, ...]) -> tuple[Season, ...]:
    ordered = tuple(sorted(seasons, key=lambda s: s.from_month))
    if not ordered or len({s.from_month for s in ordered}) != len(ordered):
        raise ValueError("office hours need at least one season, each starting in a different month")
    return ordered


DEFAULT_SAME_DAY_CUTOFF = time(15, 0)
"""Same-day work received after this hour is due the next working day (Decree 23/2015/NĐ-CP art. 21)."""


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, the office hours on them, and how processing times become appointments.

    A working day is Monday to Friday not in `days_off`, or any day in `working_days_on_weekend` (a Saturday worked
    in exchange for a bridge day). Office hours are `hours`, or by season when `seasons` are given. Every datetime
    taken must be timezone-aware; every datetime returned is in UTC. Dates and hours are judged in Vietnam time.
    """

    days_off: frozenset[date] = frozenset()
    working_days_on_weekend: frozenset[date] = frozenset()
    hours: OfficeHours = field(default_factory=OfficeHours)
    seasons: tuple[Season, ...] = ()
    same_day_cutoff: time = DEFAULT_SAME_DAY_CUTOFF

    def __post_init__(self) -> None:
        if self.seasons:
            seasons_in_order(self.seasons)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days_on_weekend:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day` (ends: `days_off` is finite)."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def hours_on(self, day: date) -> OfficeHours:
        """The office hours of `day`: its season's, or `hours` all year."""
        if not self.seasons:
            return self.hours
        current = self.seasons[-1].hours  # before the first season's month: the last season, from the year before
        for season in self.seasons:
            if season.from_month <= day.month:
                current = season.hours
        return current

    def opening(self, day: date) -> datetime:
        """When the office opens on `day`, in UTC."""
        return self._at(day, self.hours_on(day).opens)

    def closing(self, day: date) -> datetime:
        """When the office closes on `day`, in UTC."""
        return self._at(day, self.hours_on(day).closes)

    def clock_start(self, at: datetime) -> datetime:
        """When a dossier received at `at` starts its clock.

        `at` itself if the office is open then; else the next opening on that working day (the morning's, or the
        afternoon's during the lunch break); otherwise (after closing, weekend, day off) the next working day's
        opening. The end of a session (lunch, closing) counts as closed.
        """
        require_aware(at, "at")
        day = business_date(at)
        if self.is_working_day(day):
            for opens, closes in self._sessions(day):
                if at < opens:
                    return opens
                if at < closes:
                    return at.astimezone(UTC)
        return self.opening(self.next_working_day(day))

    def appointment(self, received_at: datetime, processing: ProcessingTime | int) -> datetime:
        """The appointment for a dossier received at `received_at` with `processing` time (an int: working days).

        Counted from the clock start (`clock_start`):
        - 0 working days (same day): closing time of that day, or of the next working day when the clock starts
          after `same_day_cutoff` (Decree 23/2015/NĐ-CP art. 21; the civil-status procedure texts);
        - n working days: the same local clock time on the n-th working day after (at the latest its closing);
        - n hours: n hours of office time later (lunch breaks, nights and days off skipped);
        - n calendar days or months: closing time of the day n days, or the same day n months, later (the last
          day of a shorter month), moved to the next working day when it is a day off (Civil Code 2015 art. 147–148).
        """
        time_ = processing if isinstance(processing, ProcessingTime) else ProcessingTime(processing)
        start = self.clock_start(received_at)
        local = start.astimezone(VN_TZ)
        day = local.date()
        match time_.unit:
            case TimeUnit.WORKING_DAYS if time_.same_day:
                after_cutoff = local.time() > self.same_day_cutoff
                return self.closing(self.next_working_day(day) if after_cutoff else day)
            case TimeUnit.WORKING_DAYS:
                for _ in range(time_.amount):
                    day = self.next_working_day(day)
                return min(self._at(day, local.time()), self.closing(day))
            case TimeUnit.HOURS:
                return self.add_working_time(start, timedelta(hours=time_.amount))
            case TimeUnit.DAYS:
                return self.closing(self._working_or_next(day + timedelta(days=time_.amount)))
            case TimeUnit.MONTHS:
                return self.closing(self._working_or_next(add_months(day, time_.amount)))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Time inside office hours on working days between `start` and `end` (zero if end <= start)."""
        require_aware(start, "start")
        require_aware(end, "end")
        total = timedelta(0)
        if end <= start:
            return total
        day = business_date(start)
        last = business_date(end)
        while day <= last:
            if self.is_working_day(day):
                for opens, closes in self._sessions(day):
                    overlap = min(end, closes) - max(start, opens)
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(days=1)
        return total

    def working_days_elapsed(self, start: datetime, end: datetime) -> float:
        """Working time between `start` and `end`, in office days (one day = `hours.length`)."""
        return self.working_time_between(start, end) / self.hours.length

    def add_working_time(self, at: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of working time after `at` (`at` itself, in UTC, when amount is 0).

        A result that lands exactly on the end of a session (lunch, closing) stays there.
        """
        require_aware(at, "at")
        if amount < timedelta(0):
            raise ValueError(f"amount must be >= 0, got {amount}")
        current = at.astimezone(UTC)
        remaining = amount
        while remaining > timedelta(0):
            current = self.clock_start(current)
            ends = next(closes for opens, closes in self._sessions(business_date(current)) if opens <= current < closes)
            available = ends - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = ends
        return current

    def last_open_instant(self, at: datetime) -> datetime:
        """`at` (in UTC) if the office is open then; otherwise the end of the last session (lunch or closing) at or
        before it: the latest time an office can still act by a limit that falls outside office hours."""
        require_aware(at, "at")
        at = at.astimezone(UTC)
        if self.clock_start(at) == at:
            return at
        day = business_date(at)
        while True:
            ends = [closes for _, closes in self._sessions(day) if closes <= at] if self.is_working_day(day) else []
            if ends:
                return ends[-1]
            day -= timedelta(days=1)

    def _sessions(self, day: date) -> list[tuple[datetime, datetime]]:
        return [(self._at(day, opens), self._at(day, closes)) for opens, closes in self.hours_on(day).sessions]

    def _working_or_next(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=VN_TZ).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month when it is shorter (31 Jan + 1 month: 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, _months.monthrange(year, month + 1)[1]))


DAY_OFF = "day_off"
WORKING_DAY = "working_day"


@dataclass(frozen=True)
class DeclaredDay:
    """A day the province declares off (on top of public holidays) or working (a compensatory Saturday)."""

    day: date
    kind: str  # DAY_OFF | WORKING_DAY
    reason: str
