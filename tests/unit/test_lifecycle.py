"""The dossier state machine, checked pair by pair against a table written out by hand."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.errors import ConflictError, DomainError
from chalicelib.domain.lifecycle import (
    ENDS_PROCESSING,
    TERMINAL,
    Action,
    Actor,
    IllegalTransitionError,
    actor_of,
    allowed_actions,
    next_status,
)
from chalicelib.domain.vocabulary import Status

S, A = Status, Action

# Every legal (status, action) pair and where it leads; every other pair must be refused.
# Written out independently of lifecycle.TRANSITIONS so that the table is tested, not restated.
LEGAL: dict[tuple[Status, Action], Status] = {
    (S.REGISTERED, A.RECEIVE): S.RECEIVED,
    (S.REGISTERED, A.REFUSE_AT_DOOR): S.NOT_RECEIVED,
    (S.REGISTERED, A.REQUEST_SUPPLEMENT): S.SUPPLEMENT_REQUESTED,
    (S.REGISTERED, A.WITHDRAW): S.WITHDRAWN,
    (S.RECEIVED, A.REQUEST_SUPPLEMENT): S.SUPPLEMENT_REQUESTED,
    (S.RECEIVED, A.START_PROCESSING): S.PROCESSING,
    (S.RECEIVED, A.STOP): S.STOPPED,
    (S.RECEIVED, A.APOLOGISE): S.RECEIVED,
    (S.RECEIVED, A.WITHDRAW): S.WITHDRAWN,
    (S.PROCESSING, A.REQUEST_SUPPLEMENT): S.SUPPLEMENT_REQUESTED,
    (S.PROCESSING, A.TRANSFER): S.PROCESSING,
    (S.PROCESSING, A.REQUEST_FEES): S.AWAITING_FEES,
    (S.PROCESSING, A.APPROVE): S.PROCESSING,
    (S.PROCESSING, A.REFUSE): S.PROCESSING,
    (S.PROCESSING, A.STOP): S.STOPPED,
    (S.PROCESSING, A.MARK_RESULT_READY): S.RESULT_READY,
    (S.PROCESSING, A.APOLOGISE): S.PROCESSING,
    (S.PROCESSING, A.WITHDRAW): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, A.STOP): S.STOPPED,
    (S.SUPPLEMENT_REQUESTED, A.APOLOGISE): S.SUPPLEMENT_REQUESTED,
    (S.SUPPLEMENT_REQUESTED, A.WITHDRAW): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, A.RESUBMIT_SUPPLEMENT): S.PROCESSING,
    (S.AWAITING_FEES, A.CONFIRM_FEES): S.PROCESSING,
    (S.AWAITING_FEES, A.STOP): S.STOPPED,
    (S.AWAITING_FEES, A.APOLOGISE): S.AWAITING_FEES,
    (S.AWAITING_FEES, A.WITHDRAW): S.WITHDRAWN,
    (S.RESULT_READY, A.RETURN_RESULT): S.RESULT_RETURNED,
    (S.RESULT_RETURNED, A.RATE): S.RESULT_RETURNED,
}

APPLICANT_ACTIONS = {A.WITHDRAW, A.RESUBMIT_SUPPLEMENT, A.RATE}


def legal_from(status: Status) -> list[Action]:
    return [action for action in Action if (status, action) in LEGAL]


@pytest.mark.parametrize(("status", "action"), list(itertools.product(Status, Action)))
def test_every_status_action_pair(status: Status, action: Action) -> None:
    if (status, action) in LEGAL:
        assert next_status(status, action) is LEGAL[(status, action)]
        return
    with pytest.raises(IllegalTransitionError) as raised:
        next_status(status, action)
    error = raised.value
    assert error.code == "ILLEGAL_TRANSITION"
    assert error.details == {
        "current_status": status.value,
        "national_code": status.national_code,
        "action": action.slug,
        # only what the caller's kind may do (the caller passed `authorise`, so is of the action's kind)
        "allowed_actions": [a.slug for a in legal_from(status) if actor_of(a) == actor_of(action)],
    }
    assert f"trạng thái '{status.value}'" in error.message
    assert f"'{action.slug}'" in error.message


def test_the_cross_product_is_complete() -> None:
    assert len(list(itertools.product(Status, Action))) == 10 * 16
    assert len(Action) == 16


@pytest.mark.parametrize("status", list(Status))
def test_allowed_actions_match_the_table_in_action_order(status: Status) -> None:
    assert allowed_actions(status) == legal_from(status)


@pytest.mark.parametrize(
    ("status", "actor", "expected"),
    [
        (S.REGISTERED, "officer", [A.RECEIVE, A.REFUSE_AT_DOOR, A.REQUEST_SUPPLEMENT]),
        (S.REGISTERED, "applicant", [A.WITHDRAW]),
        (S.PROCESSING, Actor.OFFICER, [
            A.REQUEST_SUPPLEMENT, A.TRANSFER, A.REQUEST_FEES, A.APPROVE, A.REFUSE, A.STOP, A.MARK_RESULT_READY, A.APOLOGISE,
        ]),
        (S.SUPPLEMENT_REQUESTED, "applicant", [A.WITHDRAW, A.RESUBMIT_SUPPLEMENT]),
        (S.SUPPLEMENT_REQUESTED, "officer", [A.STOP, A.APOLOGISE]),
        (S.RESULT_READY, "applicant", []),
        (S.RESULT_RETURNED, "applicant", [A.RATE]),
        (S.RESULT_RETURNED, "officer", []),
        (S.WITHDRAWN, None, []),
        (S.PROCESSING, "nobody", []),
    ],
)
def test_allowed_actions_for_one_actor(status: Status, actor: str | None, expected: list[Action]) -> None:
    assert allowed_actions(status, actor) == expected


@pytest.mark.parametrize("action", list(Action))
def test_actor_of(action: Action) -> None:
    expected = Actor.APPLICANT if action in APPLICANT_ACTIONS else Actor.OFFICER
    assert actor_of(action) is expected


@pytest.mark.parametrize("status", list(Status))
def test_terminal_statuses_never_change(status: Status) -> None:
    assert (status in TERMINAL) is (status in {S.NOT_RECEIVED, S.WITHDRAWN, S.STOPPED, S.RESULT_RETURNED})
    if status in TERMINAL:
        assert all(next_status(status, action) is status for action in allowed_actions(status))


def test_result_ready_ends_processing_but_is_not_terminal() -> None:
    assert TERMINAL | {S.RESULT_READY} == ENDS_PROCESSING
    assert S.RESULT_READY not in TERMINAL


def test_illegal_transition_is_a_conflict() -> None:
    with pytest.raises(ConflictError) as raised:
        next_status(S.RECEIVED, A.RETURN_RESULT)
    error = raised.value
    assert isinstance(error, DomainError)
    assert error.message.startswith(
        "Hồ sơ đang ở trạng thái 'received' nên không thể thực hiện 'return-result'."
    )
    assert error.details["national_code"] == 2
    assert error.details["allowed_actions"] == [
        "request-supplement", "start-processing", "stop", "apologise",
    ]
