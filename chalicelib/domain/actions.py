"""What each lifecycle action does to a dossier: status through the state machine, clock, rules, and its event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import directives
from .access import authorise_action
from .calendar import WorkingCalendar, business_date
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
from .timeliness import ClockFacts, Supplement, Verdict, deadline, judge
from .vocabulary import Rating, ResultDelivery, Status

EVENT_OF: dict[Action, str] = {
    Action.RECEIVE: EventType.DOSSIER_RECEIVED,
    Action.REFUSE_AT_DOOR: EventType.DOSSIER_REFUSED_AT_DOOR,
    Action.REQUEST_SUPPLEMENT: EventType.SUPPLEMENT_REQUESTED,
    Action.RESUBMIT_SUPPLEMENT: EventType.SUPPLEMENT_RESUBMITTED,
    Action.START_PROCESSING: EventType.PROCESSING_STARTED,
    Action.TRANSFER: EventType.DOSSIER_TRANSFERRED,
    Action.REQUEST_FEES: EventType.FEES_REQUESTED,
    Action.CONFIRM_FEES: EventType.FEES_CONFIRMED,
    Action.APPROVE: EventType.DOSSIER_APPROVED,
    Action.STOP: EventType.PROCESSING_STOPPED,
    Action.MARK_RESULT_READY: EventType.RESULT_READY,
    Action.RETURN_RESULT: EventType.RESULT_RETURNED,
    Action.APOLOGISE: EventType.APOLOGY_ISSUED,
    Action.WITHDRAW: EventType.DOSSIER_WITHDRAWN,
    Action.RATE: EventType.DOSSIER_RATED,
}

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
    """The on-time rule's view of a dossier. A supplement asked for before receipt is not waiting time: the
    clock had not started (the resubmission was the receipt)."""
    start = dossier.received_at or dossier.submitted_at
    return ClockFacts(
        received_at=start,
        legal_days=dossier.legal_days,
        appointment_at=dossier.appointment_at if dossier.received_at else None,
        finished_at=dossier.finished_at,
        supplements=tuple(
            Supplement(s.requested_at, s.resubmitted_at) for s in dossier.supplements if s.requested_at >= start
        ),
    )


def _require(value: Any, name: str, action: Action) -> Any:
    if value in (None, ""):
        raise RuleViolationError(f"Thiếu '{name}' cho thao tác '{action.slug}'. ({name} is required.)",
                                 code="PARAMETER_REQUIRED", details={"parameter": name})
    return value


def act(
    dossier: Dossier,
    cmd: ActOnDossier,
    actor: Actor,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    event_id: str,
    target_agency: Agency | None = None,
) -> tuple[Status, str | None]:
    """Apply the action; returns the status it came from and the note for the history entry.

    Raises ForbiddenError, ConflictError (stale version, illegal transition) or RuleViolationError.
    """
    authorise_action(actor, dossier, cmd.action)
    check_version(dossier, cmd.expected_version, cmd.action)
    before = dossier.status
    after = next_status(before, cmd.action)
    params = cmd.params
    payload: Payload = NO_PAYLOAD
    match cmd.action:
        case Action.RECEIVE:
            _start_clock(dossier, now, calendar)
        case Action.REFUSE_AT_DOOR | Action.STOP:
            dossier.reason = _require(params.get("reason"), "reason", cmd.action)
            payload = Reason(dossier.reason)
        case Action.REQUEST_SUPPLEMENT:
            missing = _require(params.get("missing"), "missing", cmd.action)
            dossier.supplements.append(SupplementRecord(requested_at=now, missing=missing))
            payload = SupplementRequest(missing=missing, supplement_count=len(dossier.supplements))
        case Action.RESUBMIT_SUPPLEMENT:
            dossier.supplements[-1].resubmitted_at = now
            if dossier.received_at is None:  # asked before receipt: the resubmission is taken as receipt
                _start_clock(dossier, now, calendar)
            else:
                dossier.due_at = deadline(clock_facts(dossier), now, calendar)
        case Action.TRANSFER:
            if target_agency is None:
                raise RuleViolationError("Cần cơ quan nhận. (to_agency is required.)", code="PARAMETER_REQUIRED")
            if target_agency.code == dossier.agency_code:
                raise RuleViolationError("Không thể chuyển cho chính cơ quan đang giữ hồ sơ. (Same agency.)",
                                         code="TRANSFER_TO_SELF")
            payload = Transfer(from_agency=dossier.agency_code, to_agency=target_agency.code)
            dossier.agency_code = target_agency.code  # the clock keeps running: liên thông
            dossier.agency_path = target_agency.path
            dossier.agency_level = target_agency.level.value
        case Action.REQUEST_FEES:
            payload = FeesDue(amount=dossier.fees_total)
        case Action.APPROVE:
            dossier.decision = "approved"
        case Action.MARK_RESULT_READY:
            if dossier.decision != "approved":
                raise ConflictError("Hồ sơ chưa được phê duyệt. (Approve the dossier before its result is ready.)",
                                    code="DECISION_MISSING")
            dossier.result_reference = _require(params.get("result_reference"), "result_reference", cmd.action)
            dossier.result_file_key = params.get("result_file_key")
            payload = ResultMade(electronic_result=dossier.result_file_key is not None)
        case Action.RETURN_RESULT:
            via = ResultDelivery(_require(params.get("via"), "via", cmd.action))
            directives.enforce("return", directives.Facts(
                business_day=business_date(now), channel=dossier.channel, applicant_kind=dossier.applicant.kind,
                procedure_internal=False, online_form=dossier.online_form, returned_via=via,
                fees_total=dossier.fees_total, paid_online_total=dossier.paid_online_total,
            ))
            dossier.returned_via = via.value
            payload = ResultHandedOver(via=via)
        case Action.APOLOGISE:
            if not dossier.owes_apology(now):
                raise ConflictError("Hồ sơ chưa quá hạn nên không cần thư xin lỗi. (The dossier is not late.)",
                                    code="NOT_LATE")
            new_day = date.fromisoformat(_require(params.get("new_appointment_date"), "new_appointment_date", cmd.action))
            if new_day <= business_date(now) or not calendar.is_working_day(new_day):
                raise RuleViolationError("Ngày hẹn mới phải là một ngày làm việc sau hôm nay. "
                                         "(The new appointment must be a future working day.)",
                                         code="APPOINTMENT_INVALID")
            dossier.appointment_at = calendar.closing(new_day)
            dossier.due_at = dossier.appointment_at
            dossier.apologies += 1
            payload = Apology(new_appointment_date=new_day)
        case Action.WITHDRAW:
            payload = Withdrawal(reason=params.get("reason"))
        case Action.RATE:
            if dossier.rating is not None:
                raise ConflictError("Bạn đã đánh giá hồ sơ này. (Already rated.)", code="ALREADY_RATED")
            dossier.rating = _require(params.get("rating"), "rating", cmd.action)
            dossier.rating_comment = params.get("comment")
            payload = Rated(rating=Rating(dossier.rating))
        case _:
            pass
    dossier.status = after
    on_time: bool | None = None
    if after in ENDS_PROCESSING and dossier.finished_at is None:
        dossier.finished_at = now
        verdict = judge(clock_facts(dossier), now, calendar)
        # a dossier that owed an apology was late: the apology's new appointment does not make it on time
        on_time = verdict in (Verdict.ON_TIME, Verdict.IN_PROGRESS_ON_TIME) and dossier.apologies == 0
        dossier.verdict = "on_time" if on_time else "late"
    officer = actor.role == "officer"
    dossier.events.append(
        change_event(
            dossier, EVENT_OF[cmd.action], event_id=event_id, now=now, from_status=before,
            actor_id=actor.user_id if officer else None, actor_name=actor.display_name if officer else None,
            actor_role=actor.role, on_time=on_time, payload=payload,
        )
    )
    note = params.get("note")
    return before, note if isinstance(note, str) else None


def _start_clock(dossier: Dossier, now: datetime, calendar: WorkingCalendar) -> None:
    dossier.received_at = now
    dossier.appointment_at = calendar.appointment(now, dossier.legal_days)
    dossier.due_at = dossier.appointment_at



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
