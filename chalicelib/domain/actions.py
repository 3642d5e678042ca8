"""What each lifecycle action does to a dossier: status through the state machine, clock, rules, and its event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import directives
from .access import authorise_action, is_named_in_events
from .calendar import ProcessingTime, TimeUnit, WorkingCalendar, business_date
from .catalogue import Agency
from .dossier import Dossier, SupplementRecord
from .errors import ConflictError, RuleViolationError, VersionConflictError
from .events import (
    NO_PAYLOAD,
    Apology,
    DossierChanged,
    EventType,
    FeesDue,
    Payload,
    Rated,
    Reason,
    ResultHandedOver,
    ResultMade,
    SupplementRequest,
    Transfer,
    Withdrawal,
)
from .history import Actor
from .lifecycle import ENDS_PROCESSING, Action, actor_of, allowed_actions, next_status
from .timeliness import INDEX_SUPPLEMENT_POLICY, ClockFacts, Supplement, SupplementPolicy, deadline, is_late, judge
from .vocabulary import Rating, ResultDelivery, Status

INTERNAL_NOTE_ACTIONS = frozenset({Action.TRANSFER, Action.APPROVE, Action.START_PROCESSING})
"""Officer notes on these stay internal: the applicant's history view does not show them."""


@dataclass(frozen=True)
class ActOnDossier:
    """Command: `actor` takes `action` on a dossier they saw at `expected_version`."""

    dossier_id: str
    action: Action
    expected_version: int
    params: dict[str, Any] = field(default_factory=dict)


def version_conflict(current: Dossier, action: Action) -> VersionConflictError:
    """The answer to a caller who acted on an older version: what the dossier is now, and what a caller of
    their kind (the kind `action` belongs to; they passed `authorise_action`) may do with it."""
    return VersionConflictError(
        "Hồ sơ đã được cập nhật bởi người khác; vui lòng tải lại. (The dossier changed since you read it.)",
        details={"current_version": current.version, "current_status": current.status.value,
                 "allowed_actions": [a.slug for a in allowed_actions(current.status, actor_of(action))]},
    )


def check_version(dossier: Dossier, expected_version: int, action: Action) -> None:
    if dossier.version != expected_version:
        raise version_conflict(dossier, action)


def clock_facts(dossier: Dossier) -> ClockFacts:
    """The on-time rule's view of a dossier, judged against its original appointment (an apology's new one sits
    beside it). A supplement asked for before receipt is not waiting time: the clock had not started (the
    resubmission was the receipt)."""
    start = dossier.received_at or dossier.submitted_at
    return ClockFacts(
        received_at=start,
        legal_days=dossier.legal_days,
        appointment_at=dossier.appointment_at if dossier.received_at else None,
        finished_at=dossier.finished_at,
        supplements=tuple(
            Supplement(s.requested_at, s.resubmitted_at) for s in dossier.supplements if s.requested_at >= start
        ),
        procedure_code=dossier.procedure_code,
    )


def verdict_of(dossier: Dossier, now: datetime, calendar: WorkingCalendar,
               policy: SupplementPolicy = INDEX_SUPPLEMENT_POLICY) -> bool | None:
    """On time (True) or late (False) as processing ends at `now`; None for a dossier never received: only received
    dossiers are judged (index 2.1: "chỉ tính các hồ sơ đã được tiếp nhận")."""
    if not dossier.was_received:
        return None
    return not is_late(judge(clock_facts(dossier), now, calendar, policy))


def refresh_due(dossier: Dossier, now: datetime, calendar: WorkingCalendar) -> None:
    """`due_at` from the on-time limit as of `now`, or the latest apology's new appointment when that is later."""
    due = deadline(clock_facts(dossier), now, calendar)
    if due is not None and dossier.new_appointment_at is not None:
        due = max(due, dossier.new_appointment_at)
    dossier.due_at = due


def act(
    dossier: Dossier,
    cmd: ActOnDossier,
    actor: Actor,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    event_id: str,
    target_agency: Agency | None = None,
    supplement_policy: SupplementPolicy = INDEX_SUPPLEMENT_POLICY,
) -> tuple[Status, str | None]:
    """Apply the action; returns the status it came from and the note for the history entry.

    Raises ForbiddenError, ConflictError (stale version, illegal transition) or RuleViolationError.
    """
    authorise_action(actor, dossier, cmd.action)
    check_version(dossier, cmd.expected_version, cmd.action)
    before = dossier.status
    after = next_status(before, cmd.action)
    params = cmd.params
    effect = EFFECTS[cmd.action]
    was_received = dossier.was_received
    payload = effect.apply(dossier, Step(cmd.action, params, now, calendar, target_agency))
    dossier.status = after
    on_time: bool | None = None
    if after in ENDS_PROCESSING and dossier.finished_at is None:
        dossier.finished_at = now
        on_time = verdict_of(dossier, now, calendar, supplement_policy)
        dossier.verdict = None if on_time is None else ("on_time" if on_time else "late")
    named = is_named_in_events(actor)
    actor_id, actor_name = (actor.user_id, actor.display_name) if named else (None, None)
    dossier.events.append(
        change_event(dossier, effect.event_type, event_id=event_id, now=now, from_status=before, actor_id=actor_id,
                     actor_name=actor_name, actor_role=actor.role, on_time=on_time, payload=payload)
    )
    if dossier.was_received and not was_received and effect.event_type != EventType.DOSSIER_RECEIVED:
        # received by another action (a resubmission after a supplement asked for before receipt): every received
        # dossier has its receipt event, the denominator of the on-time rule
        dossier.events.append(change_event(dossier, EventType.DOSSIER_RECEIVED, event_id=f"{event_id}:received",
                                           now=now, from_status=before, actor_id=actor_id, actor_name=actor_name,
                                           actor_role=actor.role))
    note = params.get("note")
    return before, note if isinstance(note, str) else None


def _start_clock(dossier: Dossier, now: datetime, calendar: WorkingCalendar) -> None:
    """Receipt: the appointment is the procedure's processing time, in its unit, counted from `now`; a dossier stored
    before processing times carried a unit has its `legal_days`, in working days."""
    dossier.received_at = now
    processing = dossier.processing_time or ProcessingTime(dossier.legal_days, TimeUnit.WORKING_DAYS)
    dossier.appointment_at = calendar.appointment(now, processing)
    dossier.due_at = dossier.appointment_at


# --- what each action does beyond its status: one small function per action, listed in `EFFECTS` ------------


@dataclass(frozen=True)
class Step:
    """What an action's effect may read: the command's parameters, the clock, the calendar, a looked-up agency."""

    action: Action
    params: dict[str, Any]
    now: datetime
    calendar: WorkingCalendar
    target_agency: Agency | None = None

    def required(self, name: str) -> Any:
        value = self.params.get(name)
        if value in (None, ""):
            raise RuleViolationError(f"Thiếu '{name}' cho thao tác '{self.action.slug}'. ({name} is required.)",
                                     code="PARAMETER_REQUIRED", details={"parameter": name})
        return value


def _nothing(dossier: Dossier, step: Step) -> Payload:
    return NO_PAYLOAD


def _receive(dossier: Dossier, step: Step) -> Payload:
    _start_clock(dossier, step.now, step.calendar)
    return NO_PAYLOAD


def _with_reason(dossier: Dossier, step: Step) -> Payload:  # refusal at the door, stop
    dossier.reason = step.required("reason")
    return Reason(dossier.reason)


def _request_supplement(dossier: Dossier, step: Step) -> Payload:
    missing = step.required("missing")
    dossier.supplements.append(SupplementRecord(requested_at=step.now, missing=missing))
    return SupplementRequest(missing=missing, supplement_count=len(dossier.supplements))


def _resubmit_supplement(dossier: Dossier, step: Step) -> Payload:
    dossier.supplements[-1].resubmitted_at = step.now
    if dossier.received_at is None:  # asked before receipt: the resubmission is taken as receipt
        _start_clock(dossier, step.now, step.calendar)
    else:  # the raw time waited moves the on-time limit; the original appointment stays
        refresh_due(dossier, step.now, step.calendar)
    return NO_PAYLOAD


def _transfer(dossier: Dossier, step: Step) -> Payload:
    target = step.target_agency
    if target is None:
        raise RuleViolationError("Cần cơ quan nhận. (to_agency is required.)", code="PARAMETER_REQUIRED")
    if target.code == dossier.agency_code:
        raise RuleViolationError("Không thể chuyển cho chính cơ quan đang giữ hồ sơ. (Same agency.)",
                                 code="TRANSFER_TO_SELF")
    payload = Transfer(from_agency=dossier.agency_code, to_agency=target.code)
    dossier.agency_code = target.code  # the clock keeps running: liên thông
    dossier.agency_path = target.path
    dossier.agency_level = target.level.value
    return payload


def _request_fees(dossier: Dossier, step: Step) -> Payload:
    """The officer charges `amount` (whole VND; by default what the procedure's fees leave uncharged), for `reason`."""
    amount = step.params.get("amount")
    if amount is None:
        amount = max(dossier.fees_total - dossier.fees_charged, 0)
    if amount <= 0:
        raise RuleViolationError("Cần số tiền phí phải nộp. (The amount to charge is required.)",
                                 code="FEES_AMOUNT_REQUIRED", details={"parameter": "amount"})
    dossier.fees_charged += amount
    return FeesDue(amount=amount, reason=step.params.get("reason"))


APPROVED, REFUSED = "approved", "refused"
"""The decisions a procedure's result can carry: a refusal with reasons is a result (a written reply), not a stop."""


def _approve(dossier: Dossier, step: Step) -> Payload:
    dossier.decision, dossier.decision_reason = APPROVED, None
    return NO_PAYLOAD


def _refuse(dossier: Dossier, step: Step) -> Payload:
    reason = step.required("reason")
    dossier.decision, dossier.decision_reason = REFUSED, reason
    return Reason(reason)


def _mark_result_ready(dossier: Dossier, step: Step) -> Payload:
    if dossier.decision not in (APPROVED, REFUSED):
        raise ConflictError("Hồ sơ chưa có quyết định. (Approve or refuse the dossier before its result is ready.)",
                            code="DECISION_MISSING")
    dossier.result_reference = step.required("result_reference")
    dossier.result_file_key = step.params.get("result_file_key")
    electronic = dossier.result_file_key is not None
    digitised = electronic and bool(dossier.documents) and all(doc.file is not None for doc in dossier.documents)
    return ResultMade(electronic_result=electronic, digitised=digitised)


def _return_result(dossier: Dossier, step: Step) -> Payload:
    via = ResultDelivery(step.required("via"))
    directives.enforce("return", directives.Facts(
        business_day=business_date(step.now), channel=dossier.channel, applicant_kind=dossier.applicant.kind,
        procedure_internal=False, online_form=dossier.online_form, returned_via=via,
        fees_total=dossier.fees_total, paid_online_total=dossier.paid_online_total,
    ))
    dossier.returned_via = via.value
    return ResultHandedOver(via=via)


def _apologise(dossier: Dossier, step: Step) -> Payload:
    """A new appointment beside the original, which stays on the record and is what the dossier is judged against:
    an apology never turns a late dossier on time. It may come before the due date, once the office knows it
    cannot meet it; the new appointment must fall after the current due date."""
    if not dossier.may_apologise():
        raise ConflictError("Hồ sơ chưa được tiếp nhận hoặc đã kết thúc xử lý. (No appointment to apologise for.)",
                            code="APOLOGY_NOT_ALLOWED")
    new_day = date.fromisoformat(step.required("new_appointment_date"))
    new_appointment = step.calendar.closing(new_day)
    due = dossier.due_at
    if new_day <= business_date(step.now) or not step.calendar.is_working_day(new_day) or (
            due is not None and new_appointment <= due):
        raise RuleViolationError("Ngày hẹn mới phải là một ngày làm việc sau hôm nay và sau hạn hiện tại. "
                                 "(The new appointment must be a future working day after the current due date.)",
                                 code="APPOINTMENT_INVALID")
    dossier.new_appointment_at = new_appointment
    dossier.due_at = new_appointment
    dossier.apologies += 1
    return Apology(new_appointment_date=new_day)


def _withdraw(dossier: Dossier, step: Step) -> Payload:
    return Withdrawal(reason=step.params.get("reason"))


def _rate(dossier: Dossier, step: Step) -> Payload:
    if dossier.rating is not None:
        raise ConflictError("Bạn đã đánh giá hồ sơ này. (Already rated.)", code="ALREADY_RATED")
    dossier.rating = step.required("rating")
    dossier.rating_comment = step.params.get("comment")
    return Rated(rating=Rating(dossier.rating))


@dataclass(frozen=True)
class Effect:
    event_type: str
    apply: Callable[[Dossier, Step], Payload]


EFFECTS: dict[Action, Effect] = {
    Action.RECEIVE: Effect(EventType.DOSSIER_RECEIVED, _receive),
    Action.REFUSE_AT_DOOR: Effect(EventType.DOSSIER_REFUSED_AT_DOOR, _with_reason),
    Action.REQUEST_SUPPLEMENT: Effect(EventType.SUPPLEMENT_REQUESTED, _request_supplement),
    Action.RESUBMIT_SUPPLEMENT: Effect(EventType.SUPPLEMENT_RESUBMITTED, _resubmit_supplement),
    Action.START_PROCESSING: Effect(EventType.PROCESSING_STARTED, _nothing),
    Action.TRANSFER: Effect(EventType.DOSSIER_TRANSFERRED, _transfer),
    Action.REQUEST_FEES: Effect(EventType.FEES_REQUESTED, _request_fees),
    Action.CONFIRM_FEES: Effect(EventType.FEES_CONFIRMED, _nothing),
    Action.APPROVE: Effect(EventType.DOSSIER_APPROVED, _approve),
    Action.REFUSE: Effect(EventType.DOSSIER_REFUSED, _refuse),
    Action.STOP: Effect(EventType.PROCESSING_STOPPED, _with_reason),
    Action.MARK_RESULT_READY: Effect(EventType.RESULT_READY, _mark_result_ready),
    Action.RETURN_RESULT: Effect(EventType.RESULT_RETURNED, _return_result),
    Action.APOLOGISE: Effect(EventType.APOLOGY_ISSUED, _apologise),
    Action.WITHDRAW: Effect(EventType.DOSSIER_WITHDRAWN, _withdraw),
    Action.RATE: Effect(EventType.DOSSIER_RATED, _rate),
}
"""Each action's event and effect: a new action is a row here (and one in `lifecycle.TRANSITIONS`)."""

EVENT_OF: dict[Action, str] = {action: effect.event_type for action, effect in EFFECTS.items()}


def change_event(
    dossier: Dossier,
    event_type: str,
    *,
    event_id: str,
    now: datetime,
    from_status: Status,
    actor_id: str | None,
    actor_name: str | None,
    actor_role: str,
    on_time: bool | None = None,
    payload: Payload = NO_PAYLOAD,
) -> DossierChanged:
    """The event of a change to `dossier` as it now stands."""
    return DossierChanged(
        event_type=event_type, event_id=event_id, occurred_at=now, dossier_id=dossier.id, dossier_code=dossier.code,
        procedure_code=dossier.procedure_code, agency_code=dossier.agency_code, agency_path=dossier.agency_path,
        agency_level=dossier.agency_level, channel=dossier.channel.value, online_form=dossier.online_form.value,
        from_status=from_status.value, status=dossier.status.value, status_code=dossier.status.national_code,
        actor_id=actor_id, actor_name=actor_name, actor_role=actor_role, on_time=on_time,
        payload=payload,
    )
