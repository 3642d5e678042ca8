"""The national index's on-time rule (Decision 766/QĐ-TTg, item 2.1): whether a dossier was, or still is, on time.

The index's own words (its published formulas, transcribed in ChippedTopaz/qd766 `web/src/formula-document.ts`, 2.1):
- on time when "Thời gian kết thúc xử lý <= Ngày hẹn trả"; the end of processing is the time of the terminal status
  (refused, stopped, processed, returned, withdrawn: "chỉ tính các hồ sơ đã được tiếp nhận"), "processed" first;
- an open supplement request ends the clock at the request ("lấy ngày cán bộ yêu cầu bổ sung hồ sơ là Thời gian kết
  thúc xử lý"), "trừ trường hợp 'Yêu cầu bổ sung hồ sơ' hơn 01 lần thì tính quá hạn";
- supplement time is subtracted from the end: "Thời gian kết thúc xử lý hồ sơ = Thời gian kết thúc xử lý - Thời gian
  bổ sung hồ sơ. Thời gian bổ sung hồ sơ = Thời điểm 'hoàn thành bổ sung hồ sơ' - Thời điểm 'Yêu cầu bổ sung'";
- without an appointment: end − start − supplement time <= the legal processing time;
- unfinished: "lấy ngày cuối kỳ báo cáo là ngày kết thúc xử lý".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from .calendar import WorkingCalendar, business_date, require_aware


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

    @property
    def waited(self) -> timedelta:
        """The raw interval the index subtracts: completion of the supplement − time of the request."""
        return timedelta(0) if self.resubmitted_at is None else self.resubmitted_at - self.requested_at


class RepeatedSupplementScope(str, Enum):
    """To which dossiers "more than one supplement request makes it late" applies."""

    AWAITING_APPLICANT = "awaiting_applicant"
    """The index's reading: a dossier whose process shows only supplement requests, no "processed" or "returned" (its
    clock ended at an unanswered request): "trừ trường hợp 'Yêu cầu bổ sung hồ sơ' hơn 01 lần thì tính quá hạn"."""
    EVERY_DOSSIER = "every_dossier"
    """A stricter provincial reading: any dossier with more requests than allowed is late."""
    NONE = "none"
    """Repeated requests never make a dossier late by themselves."""


@dataclass(frozen=True)
class SupplementPolicy:
    """The repeated-supplement rule as configuration, defaulting to the index's reading.

    `allowed_requests`: requests a dossier may have before the rule applies (the index: "hơn 01 lần", so 1).
    `exempt_procedures`: procedure codes whose legal texts allow more than one request (none known by default).
    Requests made before receipt never count: the clock had not started (the resubmission was the receipt).
    """

    scope: RepeatedSupplementScope = RepeatedSupplementScope.AWAITING_APPLICANT
    allowed_requests: int = 1
    exempt_procedures: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.allowed_requests < 1:
            raise ValueError(f"allowed_requests must be >= 1, got {self.allowed_requests}")


INDEX_SUPPLEMENT_POLICY = SupplementPolicy()


@dataclass(frozen=True)
class ClockFacts:
    """What the on-time rule needs to know about one received dossier.

    `finished_at` is when the dossier reached the end of processing: refused, withdrawn, stopped,
    or processed (result ready; "processed" wins over "returned"). None while unfinished.
    `appointment_at` is the original appointment (Ngày hẹn trả); an apology's new appointment never replaces it.
    """

    received_at: datetime
    legal_days: int
    appointment_at: datetime | None
    finished_at: datetime | None
    supplements: tuple[Supplement, ...] = ()
    procedure_code: str = ""

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


def supplement_time(facts: ClockFacts, as_of: datetime) -> timedelta:
    """Raw time spent waiting on the applicant in closed supplement requests, as seen at `as_of` (the index
    subtracts the interval itself, not the working time inside it)."""
    return sum((s.waited for s in supplements_as_of(facts, as_of)), timedelta(0))


def repeated_supplements_late(facts: ClockFacts, as_of: datetime, policy: SupplementPolicy) -> bool:
    """Whether the repeated-supplement rule makes the dossier late, as seen at `as_of`."""
    supplements = supplements_as_of(facts, as_of)
    if len(supplements) <= policy.allowed_requests or facts.procedure_code in policy.exempt_procedures:
        return False
    if policy.scope is RepeatedSupplementScope.EVERY_DOSSIER:
        return True
    if policy.scope is RepeatedSupplementScope.NONE:
        return False
    # the process shows only supplement requests (no "processed" or "returned"): its clock ended at an unanswered
    # request, whether or not a stop or a withdrawal followed (a result needs the supplement answered first)
    return any(s.resubmitted_at is None for s in supplements)


def judge(
    facts: ClockFacts, as_of: datetime, calendar: WorkingCalendar, policy: SupplementPolicy = INDEX_SUPPLEMENT_POLICY,
) -> Verdict:
    """Judge a dossier on time or late as it stood at `as_of` (for a report: the end of its period).

    The rule, in order:
    1. Only what had happened by `as_of` counts: a later finish or supplement request is ignored,
       and a supplement resubmitted after `as_of` is still open. So a past report can be rebuilt.
    2. The clock ends when the dossier finished, or at the request time of an open supplement
       request (the wait is the applicant's); the dossier is then judged as finished.
       A dossier whose clock still runs is judged at `as_of` and is "in progress".
    3. Repeated supplement requests make it late where `policy` says (the index: only while the process shows
       nothing but supplement requests).
    4. The raw time waited on closed supplement requests is subtracted from the end.
    5. With an appointment date: on time iff end − supplement time <= the original appointment.
       Without one: on time iff the working time from receipt to (end − supplement time) is at most
       `legal_days` office days.
    """
    require_aware(as_of, "as_of")
    end = end_of_processing(facts, as_of)
    finished = end is not None
    if repeated_supplements_late(facts, as_of, policy):
        return Verdict.LATE if finished else Verdict.IN_PROGRESS_LATE
    on_time = _within_time(facts, (as_of if end is None else end) - supplement_time(facts, as_of), calendar)
    if finished:
        return Verdict.ON_TIME if on_time else Verdict.LATE
    return Verdict.IN_PROGRESS_ON_TIME if on_time else Verdict.IN_PROGRESS_LATE


def on_time_limit(facts: ClockFacts, as_of: datetime) -> datetime | None:
    """The latest end of processing that is still on time, as seen at `as_of`: the original appointment plus the raw
    time waited on closed supplement requests. None without an appointment."""
    if facts.appointment_at is None:
        return None
    return facts.appointment_at + supplement_time(facts, as_of)


def deadline(facts: ClockFacts, as_of: datetime, calendar: WorkingCalendar) -> datetime | None:
    """The due date shown and watched (`Dossier.due_at`): the last instant in office hours at or before the on-time
    limit. The raw limit can fall at night (Monday 09:00 + 64 hours is Thursday 01:00); finishing then is still on
    time by the index, but an office works to the last closing before it (Wednesday 17:00). None without one."""
    limit = on_time_limit(facts, as_of)
    return None if limit is None else last_office_instant(limit, calendar)


def last_office_instant(at: datetime, calendar: WorkingCalendar) -> datetime:
    """`at` if the office is open then; otherwise the closing time of the last working day that closed before it."""
    require_aware(at, "at")
    at = at.astimezone(UTC)
    if calendar.clock_start(at) == at:
        return at
    day = business_date(at)
    while not (calendar.is_working_day(day) and calendar.closing(day) <= at):
        day -= timedelta(days=1)
    return calendar.closing(day)


def _within_time(facts: ClockFacts, end: datetime, calendar: WorkingCalendar) -> bool:
    if facts.appointment_at is not None:
        return end <= facts.appointment_at
    # Compared as durations, not as float days, so "exactly on the limit" is exact.
    return calendar.working_time_between(facts.received_at, end) <= facts.legal_days * calendar.hours.length
