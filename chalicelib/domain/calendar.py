"""Working days and office hours in Vietnam time: clock start, appointment dates, working time elapsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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


@dataclass(frozen=True)
class OfficeHours:
    """One office day, in Vietnam local time; a day is open on [opens, closes)."""

    opens: time = time(7, 30)
    closes: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("office hours are local Vietnam times and must be naive")
        if self.opens >= self.closes:
            raise ValueError(f"office opens ({self.opens}) must be before it closes ({self.closes})")

    @property
    def length(self) -> timedelta:
        """How long one office day is (9h30 by default)."""
        day = date(2000, 1, 1)
        return datetime.combine(day, self.closes) - datetime.combine(day, self.opens)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and office hours on them.

    A working day is Monday to Friday not in `days_off`, or any day in `working_days_on_weekend`
    (a compensatory working Saturday declared by the government). Every datetime taken must be
    timezone-aware; every datetime returned is in UTC. Dates and hours are judged in Vietnam time.
    """

    days_off: frozenset[date] = frozenset()
    working_days_on_weekend: frozenset[date] = frozenset()
    hours: OfficeHours = field(default_factory=OfficeHours)

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

    def opening(self, day: date) -> datetime:
        """When the office opens on `day`, in UTC."""
        return self._at(day, self.hours.opens)

    def closing(self, day: date) -> datetime:
        """When the office closes on `day`, in UTC."""
        return self._at(day, self.hours.closes)

    def clock_start(self, at: datetime) -> datetime:
        """When a dossier received at `at` starts its clock.

        `at` itself if the office is open then; that day's opening if it is a working day and the
        office is not open yet; otherwise (after closing, weekend, day off) the next working day's
        opening. Closing time itself counts as closed.
        """
        require_aware(at, "at")
        local = at.astimezone(VN_TZ)
        day = local.date()
        if self.is_working_day(day):
            if local.time() < self.hours.opens:
                return self.opening(day)
            if local.time() < self.hours.closes:
                return at.astimezone(UTC)
        return self.opening(self.next_working_day(day))

    def appointment(self, received_at: datetime, processing_days: int) -> datetime:
        """The appointment date for a dossier received at `received_at` with `processing_days`.

        With 0 days: closing time of the day the clock starts. With n >= 1: the same local clock
        time as the clock start, on the n-th working day after the clock start's day.
        """
        if processing_days < 0:
            raise ValueError(f"processing_days must be >= 0, got {processing_days}")
        start = self.clock_start(received_at)
        local = start.astimezone(VN_TZ)
        day = local.date()
        if processing_days == 0:
            return self.closing(day)
        for _ in range(processing_days):
            day = self.next_working_day(day)
        return self._at(day, local.time())

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
                overlap = min(end, self.closing(day)) - max(start, self.opening(day))
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def working_days_elapsed(self, start: datetime, end: datetime) -> float:
        """Working time between `start` and `end`, in office days (one day = `hours.length`)."""
        return self.working_time_between(start, end) / self.hours.length

    def add_working_time(self, at: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of working time after `at` (`at` itself, in UTC, when amount is 0).

        Used to push a deadline forward by time the clock was stopped; a result that lands
        exactly on a closing time stays at that closing time.
        """
        require_aware(at, "at")
        if amount < timedelta(0):
            raise ValueError(f"amount must be >= 0, got {amount}")
        current = at.astimezone(UTC)
        remaining = amount
        while remaining > timedelta(0):
            current = self.clock_start(current)
            closes = self.closing(business_date(current))
            available = closes - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = closes
        return current

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=VN_TZ).astimezone(UTC)


DAY_OFF = "day_off"
WORKING_DAY = "working_day"


@dataclass(frozen=True)
class DeclaredDay:
    """A day the province declares off (on top of public holidays) or working (a compensatory Saturday)."""

    day: date
    kind: str  # DAY_OFF | WORKING_DAY
    reason: str
