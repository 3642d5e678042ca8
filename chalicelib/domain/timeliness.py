"""The national index's on-time rule: whether a dossier was, or still is, processed on time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from .calendar import WorkingCalendar, require_aware


@dataclass(frozen=True)
class Supplement:
    """One supplement request; the clock does not run while the agency waits on the applicant."""

    requested_at: datetime
    resubmitted_at: datetime | None  # None: still open

    def __post_init__(self) -> None:
        require_aware(self.requested_at, "requested_at")
        if self.resubmitted_at is not None:
            require_aware(self.resubmitted_at, "resubmitted_at")
            if self.resubmitted_at < self.requested_at:
                raise ValueError("a supplement cannot be resubmitted before it was requested")


@dataclass(frozen=True)
class ClockFacts:
    """What the on-time rule needs to know about one dossier.

    `finished_at` is when the dossier reached the end of processing: refused, withdrawn, stopped,
    or processed (result ready; "processed" wins over "returned"). None while unfinished.
    """

    received_at: datetime
    legal_days: int
    appointment_at: datetime | None
    finished_at: datetime | None
    supplements: tuple[Supplement, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.received_at, "received_at")
        for name in ("appointment_at", "finished_at"):
            value = getattr(self, name)
            if value is not None:
                require_aware(value, name)
        if self.legal_days < 0:
            raise ValueError(f"legal_days must be >= 0, got {self.legal_days}")


class Verdict(str, Enum):
    ON_TIME = "on_time"
    LATE = "late"
    IN_PROGRESS_ON_TIME = "in_progress_on_time"
    IN_PROGRESS_LATE = "in_progress_late"


def is_late(verdict: Verdict) -> bool:
    return verdict in (Verdict.LATE, Verdict.IN_PROGRESS_LATE)


def supplements_as_of(facts: ClockFacts, as_of: datetime) -> tuple[Supplement, ...]:
    """The supplement requests as they stood at `as_of`: later requests dropped, later resubmissions reopened."""
    return tuple(
        s if s.resubmitted_at is None or s.resubmitted_at <= as_of else Supplement(s.requested_at, None)
        for s in facts.supplements
        if s.requested_at <= as_of
    )


def end_of_processing(facts: ClockFacts, as_of: datetime) -> datetime | None:
    """When the clock stopped, as seen at `as_of`; None if it was still running then.

    The clock stops at `finished_at`, or earlier at the request time of an open supplement request.
    """
    ends = [s.requested_at for s in supplements_as_of(facts, as_of) if s.resubmitted_at is None]
    if facts.finished_at is not None and facts.finished_at <= as_of:
        ends.append(facts.finished_at)
    return min(ends, default=None)


def supplement_time(facts: ClockFacts, as_of: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time spent waiting on the applicant in closed supplement requests, as seen at `as_of`."""
    return sum(
        (
            calendar.working_time_between(s.requested_at, s.resubmitted_at)
            for s in supplements_as_of(facts, as_of)
            if s.resubmitted_at is not None
        ),
        timedelta(0),
    )


def judge(facts: ClockFacts, as_of: datetime, calendar: WorkingCalendar) -> Verdict:
    """Judge a dossier on time or late as it stood at `as_of` (for a report: the end of its period).

    The rule, in order:
    1. Only what had happened by `as_of` counts: a later finish or supplement request is ignored,
       and a supplement resubmitted after `as_of` is still open. So a past report can be rebuilt.
    2. The clock ends when the dossier finished, or at the request time of an open supplement
       request (the wait is the applicant's); the dossier is then judged as finished.
       A dossier whose clock still runs is judged at `as_of` and is "in progress".
    3. More than one supplement request: late.
    4. Time waiting on closed supplement requests does not count. It is measured in working time
       and pushes the appointment forward by as much.
    5. With an appointment date: on time iff end <= the (pushed) appointment.
       Without one: on time iff the working time from receipt to end, less supplement time,
       is at most `legal_days` office days.
    """
    require_aware(as_of, "as_of")
    end = end_of_processing(facts, as_of)
    finished = end is not None
    supplements = supplements_as_of(facts, as_of)
    if len(supplements) > 1:
        return Verdict.LATE if finished else Verdict.IN_PROGRESS_LATE
    on_time = _within_time(facts, as_of if end is None else end, supplement_time(facts, as_of, calendar), calendar)
    if finished:
        return Verdict.ON_TIME if on_time else Verdict.LATE
    return Verdict.IN_PROGRESS_ON_TIME if on_time else Verdict.IN_PROGRESS_LATE


def deadline(facts: ClockFacts, as_of: datetime, calendar: WorkingCalendar) -> datetime | None:
    """The appointment pushed forward by closed supplement time, as seen at `as_of`; None without one."""
    if facts.appointment_at is None:
        return None
    return calendar.add_working_time(facts.appointment_at, supplement_time(facts, as_of, calendar))


def _within_time(facts: ClockFacts, end: datetime, waited: timedelta, calendar: WorkingCalendar) -> bool:
    if facts.appointment_at is not None:
        return end <= calendar.add_working_time(facts.appointment_at, waited)
    # Compared as durations, not as float days, so "exactly on the limit" is exact.
    spent = calendar.working_time_between(facts.received_at, end) - waited
    return spent <= facts.legal_days * calendar.hours.length
