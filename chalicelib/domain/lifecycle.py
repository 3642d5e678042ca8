"""The dossier state machine as one table: which actor may take which action from which status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import ConflictError
from .vocabulary import Status


class Actor(str, Enum):
    OFFICER = "officer"
    APPLICANT = "applicant"


class Action(str, Enum):
    # officer actions
    RECEIVE = "receive"
    REFUSE_AT_DOOR = "refuse_at_door"
    REQUEST_SUPPLEMENT = "request_supplement"
    START_PROCESSING = "start_processing"
    TRANSFER = "transfer"
    REQUEST_FEES = "request_fees"
    CONFIRM_FEES = "confirm_fees"
    APPROVE = "approve"
    REFUSE = "refuse"  # a negative decision with reasons: the written refusal is the result
    STOP = "stop"
    MARK_RESULT_READY = "mark_result_ready"
    RETURN_RESULT = "return_result"
    APOLOGISE = "apologise"
    # applicant actions
    WITHDRAW = "withdraw"
    RESUBMIT_SUPPLEMENT = "resubmit_supplement"
    RATE = "rate"

    @property
    def slug(self) -> str:
        """The action as the API names it, in URLs and answers: `refuse-at-door`."""
        return self.value.replace("_", "-")


@dataclass(frozen=True)
class Transition:
    """An action is allowed from `sources`; it moves the dossier to `target` (None: it stays)."""

    sources: frozenset[Status]
    target: Status | None
    actor: Actor


def _from(*statuses: Status) -> frozenset[Status]:
    return frozenset(statuses)


_S = Status
_OFFICER, _APPLICANT = Actor.OFFICER, Actor.APPLICANT

# Choices where the law leaves room:
# - `approve` or `refuse` records the decision (a refusal with its reasons is a result, not a stop) and leaves the
#   dossier processing; `mark_result_ready` moves it to result_ready. Whether a decision exists before the result
#   is ready is a use case's check. `stop` stays for its legal cases (the applicant does not supplement, ...).
# - `resubmit_supplement` always goes to processing, even if the supplement was asked for before the
#   dossier was received: the resubmission is taken as its receipt.
# - `apologise` is allowed whenever the dossier is still open at the agency, before its due date too once the
#   office knows it cannot meet it; the new appointment sits beside the original one.
TRANSITIONS: dict[Action, Transition] = {
    Action.RECEIVE: Transition(_from(_S.REGISTERED), _S.RECEIVED, _OFFICER),
    Action.REFUSE_AT_DOOR: Transition(_from(_S.REGISTERED), _S.NOT_RECEIVED, _OFFICER),
    Action.REQUEST_SUPPLEMENT: Transition(
        _from(_S.REGISTERED, _S.RECEIVED, _S.PROCESSING), _S.SUPPLEMENT_REQUESTED, _OFFICER
    ),
    Action.START_PROCESSING: Transition(_from(_S.RECEIVED), _S.PROCESSING, _OFFICER),
    Action.TRANSFER: Transition(_from(_S.PROCESSING), None, _OFFICER),
    Action.REQUEST_FEES: Transition(_from(_S.PROCESSING), _S.AWAITING_FEES, _OFFICER),
    Action.CONFIRM_FEES: Transition(_from(_S.AWAITING_FEES), _S.PROCESSING, _OFFICER),
    Action.APPROVE: Transition(_from(_S.PROCESSING), None, _OFFICER),
    Action.REFUSE: Transition(_from(_S.PROCESSING), None, _OFFICER),
    Action.STOP: Transition(
        _from(_S.RECEIVED, _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.AWAITING_FEES), _S.STOPPED, _OFFICER
    ),
    Action.MARK_RESULT_READY: Transition(_from(_S.PROCESSING), _S.RESULT_READY, _OFFICER),
    Action.RETURN_RESULT: Transition(_from(_S.RESULT_READY), _S.RESULT_RETURNED, _OFFICER),
    Action.APOLOGISE: Transition(
        _from(_S.RECEIVED, _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.AWAITING_FEES), None, _OFFICER
    ),
    Action.WITHDRAW: Transition(
        _from(_S.REGISTERED, _S.RECEIVED, _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.AWAITING_FEES),
        _S.WITHDRAWN,
        _APPLICANT,
    ),
    Action.RESUBMIT_SUPPLEMENT: Transition(_from(_S.SUPPLEMENT_REQUESTED), _S.PROCESSING, _APPLICANT),
    Action.RATE: Transition(_from(_S.RESULT_RETURNED), None, _APPLICANT),
}

TERMINAL: frozenset[Status] = _from(_S.NOT_RECEIVED, _S.WITHDRAWN, _S.STOPPED, _S.RESULT_RETURNED)
"""No further change of status: only staying actions (rating) remain."""

ENDS_PROCESSING: frozenset[Status] = TERMINAL | {_S.RESULT_READY}
"""Reaching one of these ends processing for the on-time rule ("processed" wins over "returned")."""


def actor_of(action: Action) -> Actor:
    """Who may take `action`: an officer or the applicant."""
    return TRANSITIONS[action].actor


def allowed_actions(status: Status, actor: str | None = None) -> list[Action]:
    """The actions allowed from `status` (for one actor kind if given), in `Action` order."""
    return [
        action
        for action in Action
        if status in TRANSITIONS[action].sources and (actor is None or TRANSITIONS[action].actor == actor)
    ]


def next_status(status: Status, action: Action) -> Status:
    """The status after taking `action` from `status`; raises IllegalTransitionError if not allowed."""
    rule = TRANSITIONS[action]
    if status not in rule.sources:
        raise IllegalTransitionError(status, action)
    return status if rule.target is None else rule.target


class IllegalTransitionError(ConflictError):
    """The action is not allowed from the dossier's current status."""

    code = "ILLEGAL_TRANSITION"

    def __init__(self, status: Status, action: Action):
        # Only what the caller's kind may do: they passed `authorise`, so they are of the action's kind.
        allowed = [a.slug for a in allowed_actions(status, TRANSITIONS[action].actor)]
        super().__init__(
            f"Hồ sơ đang ở trạng thái '{status.value}' nên không thể thực hiện '{action.slug}'. "
            f"The dossier is '{status.value}', so '{action.slug}' is not allowed.",
            details={
                "current_status": status.value,
                "national_code": status.national_code,
                "action": action.slug,
                "allowed_actions": allowed,
            },
        )
        self.status = status
        self.action = action
