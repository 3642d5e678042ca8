"""Lifecycle actions on a dossier: who may act, stale versions, the clock, the on-time verdict and the events."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import timeliness
from chalicelib.domain.access import authorise_action as authorise
from chalicelib.domain.actions import EVENT_OF, ActOnDossier, act, check_version, clock_facts
from chalicelib.domain.calendar import VN_TZ, WorkingCalendar
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.dossier import Applicant, Document, Dossier
from chalicelib.domain.errors import ConflictError, DomainError, ForbiddenError, RuleViolationError
from chalicelib.domain.events import DossierChanged
from chalicelib.domain.history import Actor
from chalicelib.domain.lifecycle import Action, IllegalTransitionError, actor_of
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.topology import EventType

A, S = Action, Status
CAL = WorkingCalendar()  # weekends only


def vn(day: int, hour: int = 9, minute: int = 0, *, month: int = 11) -> datetime:
    """An instant given in Vietnam time (November 2026 unless told), as UTC. 2 November 2026 is a Monday."""
    return datetime(2026, month, day, hour, minute, tzinfo=VN_TZ).astimezone(UTC)


COMMUNE = Agency(code="T46.X01", name="UBND xã Phú Lộc", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X01"))
OTHER_COMMUNE = Agency(
    code="T46.X02", name="UBND xã Phú Hòa", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X02"),
)
JUSTICE = Agency(
    code="T46.STP", name="Sở Tư pháp", level=AgencyLevel.PROVINCE, kind="department", path=("T46", "T46.STP"),
    department="justice",
)

OWNER = Actor(user_id="user-1", role="citizen", display_name="Nguyễn Văn An")
ORGANISATION_OWNER = Actor(user_id="user-1", role="organisation", display_name="Công ty An Phú")
STRANGER = Actor(user_id="user-2", role="citizen", display_name="Trần Thị Bình")
OFFICER = Actor(user_id="officer-1", role="officer", display_name="Lê Văn Cường", agency_code=COMMUNE.code)
OFFICER_ELSEWHERE = Actor(user_id="officer-2", role="officer", display_name="Phạm Thị Dung", agency_code=OTHER_COMMUNE.code)
OFFICER_WITHOUT_AGENCY = Actor(user_id="officer-3", role="officer", display_name="Võ Văn Em")
ADMIN = Actor(user_id="admin-1", role="admin", display_name="Quản trị", agency_code=COMMUNE.code)

CITIZEN = Applicant(kind=ApplicantKind.CITIZEN, name="Nguyễn Văn An", national_id="046123456789", phone="0912345678")


def dossier(**changes: Any) -> Dossier:
    """An online dossier registered on Monday 2 November 2026 at 08:00, not yet received; 3 legal days."""
    base = Dossier(
        id="dos-0001",
        code="T46.X01-261102-0001",
        owner_id=OWNER.user_id,
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        agency_code=COMMUNE.code,
        agency_path=COMMUNE.path,
        agency_level=COMMUNE.level.value,
        channel=Channel.ONLINE,
        online_form=OnlineForm.FULL,
        applicant=CITIZEN,
        documents=(Document("id_card", "cccd.pdf"),),
        result_delivery=ResultDelivery.ONLINE,
        status=S.REGISTERED,
        submitted_at=vn(2, 8),
        appointment_at=CAL.appointment(vn(2, 8), 3),
        fees_total=10000,
        legal_days=3,
        version=1,
    )
    return dataclasses.replace(base, **changes)


def do(
    subject: Dossier,
    action: Action,
    at: datetime,
    actor: Actor | None = None,
    *,
    calendar: WorkingCalendar = CAL,
    target: Agency | None = None,
    **params: Any,
) -> DossierChanged:
    """Take `action` at the version last read, then bump the version as the service's commit does."""
    if actor is None:
        actor = OFFICER if actor_of(action).value == "officer" else OWNER
    count = len(subject.events)
    act(
        subject, ActOnDossier(subject.id, action, subject.version, params), actor, calendar,
        now=at, event_id=f"evt-{count + 1:04d}", target_agency=target,
    )
    subject.version += 1
    # one event per action, plus the receipt event when the action received the dossier (a resubmission)
    assert len(subject.events) in (count + 1, count + 2)
    event = subject.events[count]
    assert isinstance(event, DossierChanged)
    return event


def walk(subject: Dossier, *steps: tuple[Action, datetime] | tuple[Action, datetime, dict[str, Any]]) -> Dossier:
    for step in steps:
        params = step[2] if len(step) == 3 else {}
        do(subject, step[0], step[1], **params)
    return subject


MONDAY_8AM = vn(2, 8)


def received(at: datetime = MONDAY_8AM, **changes: Any) -> Dossier:
    return walk(dossier(**changes), (A.RECEIVE, at))


def processing(at: datetime = MONDAY_8AM, **changes: Any) -> Dossier:
    return walk(received(at, **changes), (A.START_PROCESSING, at + timedelta(minutes=30)))


def refused(subject: Dossier, action: Action, at: datetime, actor: Actor | None = None, **params: Any) -> DomainError:
    """Take an action that must fail; the dossier must be left exactly as it was."""
    before = dataclasses.replace(subject, events=list(subject.events), supplements=list(subject.supplements))
    with pytest.raises(DomainError) as caught:
        act(subject, ActOnDossier(subject.id, action, subject.version, params), actor or _default(action), CAL,
            now=at, event_id="evt-refused")
    assert subject == before
    return caught.value


def _default(action: Action) -> Actor:
    return OFFICER if actor_of(action).value == "officer" else OWNER


# --- authorise -------------------------------------------------------------------------------------------

APPLICANT_CASES = [
    (OWNER, None),
    (ORGANISATION_OWNER, None),
    (STRANGER, "NOT_DOSSIER_OWNER"),
    (OFFICER, "APPLICANT_ACTION"),
    (ADMIN, "APPLICANT_ACTION"),
]
OFFICER_CASES = [
    (OFFICER, None),
    (OFFICER_ELSEWHERE, "AGENCY_OUT_OF_SCOPE"),
    (OFFICER_WITHOUT_AGENCY, "AGENCY_OUT_OF_SCOPE"),
    (OWNER, "OFFICER_ACTION"),
    (STRANGER, "OFFICER_ACTION"),
    (ADMIN, "OFFICER_ACTION"),
]
AUTH_CASES = [
    pytest.param(action, actor, code, id=f"{action.value}-{actor.user_id}-{actor.role}")
    for action in Action
    for actor, code in (APPLICANT_CASES if actor_of(action).value == "applicant" else OFFICER_CASES)
]


@pytest.mark.parametrize(("action", "actor", "code"), AUTH_CASES)
def test_authorise(action: Action, actor: Actor, code: str | None) -> None:
    if code is None:
        authorise(actor, dossier(), action)
        return
    with pytest.raises(ForbiddenError) as caught:
        authorise(actor, dossier(), action)
    assert caught.value.code == code
    assert caught.value.message
    if code == "AGENCY_OUT_OF_SCOPE":
        assert caught.value.details == {"holder_agency": COMMUNE.code}


def test_every_action_is_covered_by_the_authorisation_table() -> None:
    assert {case.values[0] for case in AUTH_CASES} == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_admin_is_refused_every_action_through_act(action: Action) -> None:
    subject = dossier()
    error = refused(subject, action, vn(2, 9), ADMIN)
    assert isinstance(error, ForbiddenError)


def test_authorisation_is_checked_before_the_version() -> None:
    subject = dossier()
    with pytest.raises(ForbiddenError):
        act(subject, ActOnDossier(subject.id, A.RECEIVE, subject.version - 1), STRANGER, CAL, now=vn(2, 9), event_id="e")


# --- check_version ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", [0, 2, 4, 100])
def test_a_stale_version_is_a_conflict(expected: int) -> None:
    subject = dossier(version=3)
    with pytest.raises(ConflictError) as caught:
        check_version(subject, expected, A.RECEIVE)
    assert caught.value.code == "VERSION_CONFLICT"
    assert caught.value.details["current_version"] == 3
    assert caught.value.details["current_status"] == "registered"
    assert caught.value.details["allowed_actions"] == ["receive", "refuse-at-door", "request-supplement"]


def test_a_conflict_lists_only_what_the_callers_kind_may_do() -> None:
    """Issue 6: the 409 listed officers' actions to applicants and the applicant's to officers."""
    subject = dossier(version=3)
    with pytest.raises(ConflictError) as caught:
        check_version(subject, 2, A.WITHDRAW)
    assert caught.value.details["allowed_actions"] == ["withdraw"]


def test_the_current_version_passes() -> None:
    check_version(dossier(version=3), 3, A.RECEIVE)


def test_act_with_a_stale_version_changes_nothing() -> None:
    subject = dossier(version=3)
    before = dataclasses.replace(subject, events=[])
    with pytest.raises(ConflictError) as caught:
        act(subject, ActOnDossier(subject.id, A.RECEIVE, 2), OFFICER, CAL, now=vn(2, 9), event_id="e")
    assert caught.value.code == "VERSION_CONFLICT"
    assert subject == before


def test_allowed_actions_in_the_conflict_follow_the_current_status() -> None:
    subject = processing()
    with pytest.raises(ConflictError) as caught:
        check_version(subject, subject.version - 1, A.APPROVE)
    assert caught.value.details["allowed_actions"] == [
        "request-supplement", "transfer", "request-fees", "approve", "refuse", "stop", "mark-result-ready", "apologise",
    ]


# --- receive ---------------------------------------------------------------------------------------------

TUESDAY_OFF = WorkingCalendar(days_off=frozenset({date(2026, 11, 3)}))


@pytest.mark.parametrize(
    ("at", "legal_days", "calendar", "appointment"),
    [
        (vn(2, 10), 3, CAL, vn(5, 10)),  # Monday in office hours: same clock time three working days on
        (vn(2, 6), 3, CAL, vn(5, 7, 30)),  # before opening: counted from that day's opening
        (vn(6, 18), 3, CAL, vn(12, 7, 30)),  # Friday after closing: counted from Monday
        (vn(6, 17), 1, CAL, vn(10, 7, 30)),  # closing time itself is closed
        (vn(7, 10), 1, CAL, vn(10, 7, 30)),  # Saturday
        (vn(6, 16), 1, CAL, vn(9, 16)),  # across the weekend
        (vn(2, 10), 3, TUESDAY_OFF, vn(6, 10)),  # a day off is skipped
        (vn(2, 18), 1, TUESDAY_OFF, vn(5, 7, 30)),  # the clock starts after the day off
        (vn(2, 10), 0, CAL, vn(2, 17)),  # no processing days: closing time of the day
    ],
    ids=[
        "monday", "before-opening", "friday-evening", "friday-closing", "saturday", "over-weekend", "day-off-skipped",
        "day-off-start", "zero-days",
    ],
)
def test_receive_starts_the_clock(at: datetime, legal_days: int, calendar: WorkingCalendar, appointment: datetime) -> None:
    subject = dossier(legal_days=legal_days)
    event = do(subject, A.RECEIVE, at, calendar=calendar)
    assert subject.status is S.RECEIVED
    assert subject.received_at == at
    assert subject.appointment_at == calendar.appointment(at, legal_days) == appointment
    assert subject.due_at == subject.appointment_at
    assert subject.finished_at is None
    assert subject.verdict is None
    assert event.event_type == EventType.DOSSIER_RECEIVED
    assert (event.from_status, event.status, event.status_code) == ("registered", "received", 2)
    assert event.on_time is None
    assert event.attributes == ()
    assert event.occurred_at == at


def test_receive_event_names_the_officer_and_the_dossier() -> None:
    subject = dossier()
    event = do(subject, A.RECEIVE, vn(2, 9))
    assert event.event_id == "evt-0001"
    assert (event.actor_id, event.actor_name, event.actor_role) == (OFFICER.user_id, OFFICER.display_name, "officer")
    assert (event.dossier_id, event.dossier_code, event.procedure_code) == ("dos-0001", "T46.X01-261102-0001", "1.001193")
    assert (event.agency_code, event.agency_path, event.agency_level) == ("T46.X01", ("T46", "T46.X01"), "commune")
    assert (event.channel, event.online_form) == ("online", "full")


def test_act_returns_the_status_it_came_from_and_the_note() -> None:
    subject = dossier()
    result = act(subject, ActOnDossier(subject.id, A.RECEIVE, 1, {"note": "đủ giấy tờ"}), OFFICER, CAL, now=vn(2, 9),
                 event_id="e")
    assert result == (S.REGISTERED, "đủ giấy tờ")
    subject = dossier()
    assert act(subject, ActOnDossier(subject.id, A.RECEIVE, 1, {"note": 7}), OFFICER, CAL, now=vn(2, 9), event_id="e") == (
        S.REGISTERED, None,
    )


# --- the whole way through -------------------------------------------------------------------------------

HAPPY_PATH: list[tuple[Action, datetime, dict[str, Any], str, str, str, dict[str, Any]]] = [
    # action, when (Vietnam time), params, event type, from, to, attributes
    (A.RECEIVE, vn(2, 8), {}, EventType.DOSSIER_RECEIVED, "registered", "received", {}),
    (A.START_PROCESSING, vn(2, 9), {}, EventType.PROCESSING_STARTED, "received", "processing", {}),
    (A.REQUEST_SUPPLEMENT, vn(2, 10), {"missing": "Bản sao giấy chứng sinh"}, EventType.SUPPLEMENT_REQUESTED,
     "processing", "supplement_requested", {"missing": "Bản sao giấy chứng sinh", "supplement_count": 1}),
    (A.RESUBMIT_SUPPLEMENT, vn(3, 10), {}, EventType.SUPPLEMENT_RESUBMITTED, "supplement_requested", "processing", {}),
    (A.REQUEST_FEES, vn(3, 11), {}, EventType.FEES_REQUESTED, "processing", "awaiting_fees", {"amount": 10000, "reason": None}),
    (A.CONFIRM_FEES, vn(3, 14), {}, EventType.FEES_CONFIRMED, "awaiting_fees", "processing", {}),
    (A.APPROVE, vn(4, 9), {}, EventType.DOSSIER_APPROVED, "processing", "processing", {}),
    (A.MARK_RESULT_READY, vn(4, 10), {"result_reference": "KS-2026-001", "result_file_key": "results/dos-0001.pdf"},
     EventType.RESULT_READY, "processing", "result_ready", {"electronic_result": True, "digitised": False}),
    (A.RETURN_RESULT, vn(4, 15), {"via": "online"}, EventType.RESULT_RETURNED, "result_ready", "result_returned",
     {"via": "online"}),
    (A.RATE, vn(5, 9), {"rating": "satisfied", "comment": "Nhanh"}, EventType.DOSSIER_RATED, "result_returned",
     "result_returned", {"rating": "satisfied"}),
]


def test_happy_path_events() -> None:
    subject = dossier(legal_days=5)
    for number, (action, at, params, event_type, source, target, attributes) in enumerate(HAPPY_PATH, start=1):
        event = do(subject, action, at, **params)
        assert subject.version == number + 1
        assert subject.status.value == target
        assert event.event_type == event_type == EVENT_OF[action]
        assert (event.from_status, event.status) == (source, target)
        assert event.status_code == Status(target).national_code
        assert dict(event.attributes) == attributes
        assert event.occurred_at == at
        officer = actor_of(action).value == "officer"
        assert event.actor_id == (OFFICER.user_id if officer else None)
        assert event.actor_name == (OFFICER.display_name if officer else None)
        assert event.actor_role == ("officer" if officer else "citizen")
        # only the event that ends processing carries the verdict
        assert event.on_time == (True if action is A.MARK_RESULT_READY else None)
    assert [event.event_type for event in subject.events] == [step[3] for step in HAPPY_PATH]


def test_happy_path_state() -> None:
    subject = dossier(legal_days=5)
    finished: list[datetime | None] = []
    for action, at, params, *_ in HAPPY_PATH:
        do(subject, action, at, **params)
        finished.append(subject.finished_at)
    ready = [step[0] for step in HAPPY_PATH].index(A.MARK_RESULT_READY)
    # set exactly once, when the result is ready: "processed" wins over "returned"
    assert finished == [None] * ready + [vn(4, 10)] * (len(HAPPY_PATH) - ready)
    assert subject.received_at == vn(2, 8)
    assert subject.appointment_at == vn(9, 8)
    assert subject.due_at == vn(10, 8)  # one working day (9h30) of supplement wait later
    assert subject.verdict == "on_time"
    assert subject.decision == "approved"
    assert subject.result_reference == "KS-2026-001"
    assert subject.result_file_key == "results/dos-0001.pdf"
    assert subject.returned_via == "online"
    assert (subject.rating, subject.rating_comment) == ("satisfied", "Nhanh")
    assert [(s.requested_at, s.resubmitted_at, s.missing) for s in subject.supplements] == [
        (vn(2, 10), vn(3, 10), "Bản sao giấy chứng sinh"),
    ]
    assert subject.apologies == 0
    assert not subject.is_open
    assert not subject.owes_apology(vn(30, 9))


def test_a_paper_result_is_not_electronic() -> None:
    subject = walk(processing(), (A.APPROVE, vn(2, 10)))
    event = do(subject, A.MARK_RESULT_READY, vn(2, 11), result_reference="KS-1")
    assert dict(event.attributes) == {"electronic_result": False, "digitised": False}
    assert subject.result_file_key is None


# --- supplement time -------------------------------------------------------------------------------------

WEDNESDAY_OFF = WorkingCalendar(days_off=frozenset({date(2026, 11, 4)}))


@pytest.mark.parametrize(
    ("calendar", "limit", "due"),
    [
        (CAL, vn(7, 8), vn(6, 17)),  # Thursday 08:00 + 48h raw = Saturday 08:00: due at Friday's closing
        (WEDNESDAY_OFF, vn(8, 8), vn(6, 17)),  # appointment Friday 08:00 (Wednesday off) + 48h = Sunday 08:00
    ],
    ids=["weekends-only", "wednesday-off"],
)
def test_supplement_wait_pushes_the_deadline(calendar: WorkingCalendar, limit: datetime, due: datetime) -> None:
    """Issue 8: the raw wait (48 hours) moves the on-time limit; `due_at` is the last office instant before it."""
    subject = dossier()
    do(subject, A.RECEIVE, vn(2, 8), calendar=calendar)
    do(subject, A.START_PROCESSING, vn(2, 9), calendar=calendar)
    do(subject, A.REQUEST_SUPPLEMENT, vn(3, 9), calendar=calendar, missing="Tờ khai có chữ ký")
    assert subject.due_at == subject.appointment_at  # an open request does not move the deadline yet
    do(subject, A.RESUBMIT_SUPPLEMENT, vn(5, 9), calendar=calendar)
    assert subject.status is S.PROCESSING
    assert subject.appointment_at == calendar.appointment(vn(2, 8), 3)  # the appointment on the slip stays
    assert timeliness.on_time_limit(clock_facts(subject), vn(5, 9)) == subject.appointment_at + timedelta(hours=48) == limit
    assert subject.due_at == timeliness.deadline(clock_facts(subject), vn(5, 9), calendar) == due


def test_finishing_within_the_pushed_deadline_is_on_time() -> None:
    subject = walk(
        processing(),
        (A.REQUEST_SUPPLEMENT, vn(3, 9), {"missing": "Tờ khai"}),
        (A.RESUBMIT_SUPPLEMENT, vn(5, 9)),
        (A.APPROVE, vn(6, 9)),
    )
    assert subject.appointment_at < vn(6, 10) < subject.due_at  # type: ignore[operator]
    event = do(subject, A.MARK_RESULT_READY, vn(6, 10), result_reference="KS-1")
    assert (subject.verdict, event.on_time) == ("on_time", True)


def two_requests() -> Dossier:
    subject = walk(
        processing(),
        (A.REQUEST_SUPPLEMENT, vn(2, 10), {"missing": "Tờ khai"}),
        (A.RESUBMIT_SUPPLEMENT, vn(2, 11)),
        (A.REQUEST_SUPPLEMENT, vn(2, 13), {"missing": "Ảnh 4x6"}),
    )
    assert dict(subject.events[-1].attributes)["supplement_count"] == 2  # type: ignore[union-attr]
    return subject


def test_two_supplement_requests_make_the_dossier_late_while_it_awaits_the_applicant() -> None:
    """Issue 8: the index's "hơn 01 lần thì tính quá hạn" applies to a process showing only supplement requests."""
    subject = two_requests()
    event = do(subject, A.STOP, vn(3, 9), reason="Không bổ sung")  # the clock ended at the open second request
    assert (subject.verdict, event.on_time) == ("late", False)


def test_two_closed_supplement_requests_are_judged_on_their_times() -> None:
    """Issue 8 (corrects the blanket rule): a dossier processed after two answered requests is judged on its times."""
    subject = two_requests()
    walk(subject, (A.RESUBMIT_SUPPLEMENT, vn(2, 14)), (A.APPROVE, vn(2, 15)))
    event = do(subject, A.MARK_RESULT_READY, vn(2, 16), result_reference="KS-1")  # well before the appointment
    assert (subject.verdict, event.on_time) == ("on_time", True)


def test_resubmission_before_receipt_starts_the_clock() -> None:
    subject = dossier()
    event = do(subject, A.REQUEST_SUPPLEMENT, vn(2, 9), missing="Bản sao CCCD")
    assert (event.from_status, event.status, event.status_code) == ("registered", "supplement_requested", 5)
    assert subject.received_at is None
    event = do(subject, A.RESUBMIT_SUPPLEMENT, vn(4, 10))
    assert (event.from_status, event.status, event.status_code) == ("supplement_requested", "processing", 4)
    assert (event.actor_id, event.actor_role) == (None, "citizen")
    assert subject.received_at == vn(4, 10)
    assert subject.appointment_at == CAL.appointment(vn(4, 10), 3) == vn(9, 10)
    assert subject.due_at == subject.appointment_at


def test_finishing_after_due_at_is_late_when_the_supplement_came_before_receipt() -> None:
    subject = dossier()
    walk(subject, (A.REQUEST_SUPPLEMENT, vn(2, 9), {"missing": "Bản sao CCCD"}), (A.RESUBMIT_SUPPLEMENT, vn(4, 9)))
    assert subject.due_at == vn(9, 9)
    walk(subject, (A.APPROVE, vn(10, 8)))
    assert subject.owes_apology(vn(10, 9))  # past due_at: the service treats it as late
    event = do(subject, A.MARK_RESULT_READY, vn(10, 9), result_reference="KS-1")
    assert (subject.verdict, event.on_time) == ("late", False)


# --- late dossiers and apologies -------------------------------------------------------------------------


def late_dossier(calendar: WorkingCalendar = CAL) -> Dossier:
    """Received Monday 08:00 with one legal day: due Tuesday 3 November at 08:00; processing since."""
    subject = dossier(legal_days=1)
    do(subject, A.RECEIVE, vn(2, 8), calendar=calendar)
    do(subject, A.START_PROCESSING, vn(2, 9), calendar=calendar)
    assert subject.due_at == vn(3, 8)
    return subject


@pytest.mark.parametrize(
    ("at", "owes"),
    [(vn(2, 12), False), (vn(3, 8), False), (vn(3, 8, 1), True), (vn(4, 10), True), (vn(30, 10), True)],
    ids=["before-due", "at-due", "just-after", "next-day", "weeks-later"],
)
def test_owes_apology_while_open_and_past_due(at: datetime, owes: bool) -> None:
    assert late_dossier().owes_apology(at) is owes


@pytest.mark.parametrize(
    ("subject", "owes"),
    [
        (dossier(due_at=vn(3, 8)), False),  # registered: not yet the agency's
        (dossier(status=S.SUPPLEMENT_REQUESTED, due_at=vn(3, 8)), True),
        (dossier(status=S.AWAITING_FEES, due_at=vn(3, 8)), True),
        (dossier(status=S.RESULT_READY, due_at=vn(3, 8), finished_at=vn(4, 9)), False),
        (dossier(status=S.WITHDRAWN, due_at=vn(3, 8)), False),
        (dossier(status=S.NOT_RECEIVED, due_at=vn(3, 8)), False),
        (dossier(status=S.PROCESSING), False),  # no deadline
    ],
    ids=["registered", "supplement", "fees", "finished", "withdrawn", "refused", "no-deadline"],
)
def test_owes_apology_by_status(subject: Dossier, owes: bool) -> None:
    assert subject.owes_apology(vn(10, 9)) is owes


def test_finishing_after_due_at_is_late() -> None:
    subject = walk(late_dossier(), (A.APPROVE, vn(4, 9)))
    event = do(subject, A.MARK_RESULT_READY, vn(4, 10), result_reference="KS-1")
    assert subject.finished_at == vn(4, 10)
    assert (subject.verdict, event.on_time) == ("late", False)
    assert not subject.owes_apology(vn(4, 11))  # finished: nothing more to apologise for


def test_finishing_exactly_at_due_at_is_on_time() -> None:
    subject = walk(late_dossier(), (A.APPROVE, vn(2, 10)))
    event = do(subject, A.MARK_RESULT_READY, vn(3, 8), result_reference="KS-1")
    assert (subject.verdict, event.on_time) == ("on_time", True)


def test_apologise_before_the_due_date() -> None:
    """Issue 8: an apology may come before the due date, once the office knows it cannot meet it."""
    subject = late_dossier()
    do(subject, A.APOLOGISE, vn(2, 12), new_appointment_date="2026-11-06")
    assert (subject.appointment_at, subject.new_appointment_at) == (vn(3, 8), vn(6, 17))


@pytest.mark.parametrize(
    ("subject", "code"),
    [(dossier(), "ILLEGAL_TRANSITION"), (dossier(status=S.PROCESSING, received_at=vn(2, 8)), "APOLOGY_NOT_ALLOWED")],
    ids=["registered", "no-due-date"],
)
def test_apologise_needs_an_appointment_to_miss(subject: Dossier, code: str) -> None:
    error = refused(subject, A.APOLOGISE, vn(2, 12), new_appointment_date="2026-11-06")
    assert isinstance(error, ConflictError)
    assert error.code == code


def test_a_new_appointment_must_fall_after_the_current_due_date() -> None:
    subject = walk(dossier(legal_days=5), (A.RECEIVE, vn(2, 8)))  # due Monday 9 November 08:00
    assert refused(subject, A.APOLOGISE, vn(2, 12), new_appointment_date="2026-11-06").code == "APPOINTMENT_INVALID"


@pytest.mark.parametrize(
    ("new_day", "calendar"),
    [
        ("2026-11-03", CAL),  # in the past
        ("2026-11-04", CAL),  # today
        ("2026-11-07", CAL),  # Saturday
        ("2026-11-08", CAL),  # Sunday
        ("2026-11-05", WorkingCalendar(days_off=frozenset({date(2026, 11, 5)}))),  # a declared day off
    ],
    ids=["past", "today", "saturday", "sunday", "day-off"],
)
def test_apologise_needs_a_future_working_day(new_day: str, calendar: WorkingCalendar) -> None:
    subject = late_dossier(calendar)
    before = dataclasses.replace(subject, events=list(subject.events))
    with pytest.raises(RuleViolationError) as caught:
        act(subject, ActOnDossier(subject.id, A.APOLOGISE, subject.version, {"new_appointment_date": new_day}), OFFICER,
            calendar, now=vn(4, 10), event_id="e")
    assert caught.value.code == "APPOINTMENT_INVALID"
    assert subject == before


@pytest.mark.parametrize("params", [{}, {"new_appointment_date": ""}, {"new_appointment_date": None}])
def test_apologise_needs_a_new_appointment_date(params: dict[str, Any]) -> None:
    error = refused(late_dossier(), A.APOLOGISE, vn(4, 10), **params)
    assert error.code == "PARAMETER_REQUIRED"
    assert error.details == {"parameter": "new_appointment_date"}


def test_apologise_sets_a_new_appointment_at_closing_time() -> None:
    subject = late_dossier()
    assert subject.owes_apology(vn(4, 10))
    event = do(subject, A.APOLOGISE, vn(4, 10), new_appointment_date="2026-11-06")
    closing = datetime(2026, 11, 6, 17, 0, tzinfo=VN_TZ)
    assert subject.appointment_at == vn(3, 8)  # issue 8: the original appointment is kept
    assert subject.new_appointment_at == closing
    assert subject.due_at == closing
    assert subject.apologies == 1
    assert subject.status is S.PROCESSING
    assert not subject.owes_apology(vn(4, 10))
    assert not subject.owes_apology(vn(6, 16, 59))
    assert subject.owes_apology(vn(6, 17, 1))  # late again: a second letter is owed
    assert event.event_type == EventType.APOLOGY_ISSUED
    assert (event.from_status, event.status, event.status_code, event.on_time) == ("processing", "processing", 4, None)
    assert dict(event.attributes) == {"new_appointment_date": "2026-11-06"}
    assert event.actor_id == OFFICER.user_id
    do(subject, A.APOLOGISE, vn(9, 9), new_appointment_date="2026-11-10")
    assert subject.apologies == 2


def test_a_dossier_that_was_late_stays_late_after_an_apology() -> None:
    subject = late_dossier()
    walk(subject, (A.APOLOGISE, vn(4, 10), {"new_appointment_date": "2026-11-06"}), (A.APPROVE, vn(5, 9)))
    event = do(subject, A.MARK_RESULT_READY, vn(5, 10), result_reference="KS-1")  # past 3 Nov, before 6 Nov
    assert (subject.verdict, event.on_time) == ("late", False)


# --- transfer --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [OTHER_COMMUNE, JUSTICE], ids=["commune", "department"])
def test_transfer_moves_the_dossier_and_keeps_the_clock(target: Agency) -> None:
    subject = processing()
    clock = (subject.received_at, subject.appointment_at, subject.due_at)
    event = do(subject, A.TRANSFER, vn(3, 9), target=target)
    assert (subject.received_at, subject.appointment_at, subject.due_at) == clock
    assert subject.status is S.PROCESSING
    assert (subject.agency_code, subject.agency_path, subject.agency_level) == (target.code, target.path, target.level.value)
    assert event.event_type == EventType.DOSSIER_TRANSFERRED
    assert (event.from_status, event.status, event.status_code, event.on_time) == ("processing", "processing", 4, None)
    assert dict(event.attributes) == {"from_agency": COMMUNE.code, "to_agency": target.code}
    assert (event.agency_code, event.agency_path, event.agency_level) == (target.code, target.path, target.level.value)
    assert event.actor_id == OFFICER.user_id


def test_after_a_transfer_only_the_new_agency_may_act() -> None:
    subject = processing()
    do(subject, A.TRANSFER, vn(3, 9), target=OTHER_COMMUNE)
    assert refused(subject, A.APPROVE, vn(3, 10), OFFICER).code == "AGENCY_OUT_OF_SCOPE"
    do(subject, A.APPROVE, vn(3, 10), OFFICER_ELSEWHERE)
    assert subject.decision == "approved"


def test_transfer_needs_a_target() -> None:
    assert refused(processing(), A.TRANSFER, vn(3, 9)).code == "PARAMETER_REQUIRED"


def test_transfer_to_self_is_refused() -> None:
    subject = processing()
    before = dataclasses.replace(subject, events=list(subject.events))
    with pytest.raises(RuleViolationError) as caught:
        act(subject, ActOnDossier(subject.id, A.TRANSFER, subject.version), OFFICER, CAL, now=vn(3, 9), event_id="e",
            target_agency=COMMUNE)
    assert caught.value.code == "TRANSFER_TO_SELF"
    assert subject == before


# --- ending processing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "action", "status", "code", "on_time"),
    [
        (dossier, A.REFUSE_AT_DOOR, S.NOT_RECEIVED, 3, None),  # issue 8: never received, so not judged
        (received, A.STOP, S.STOPPED, 8, True),
        (processing, A.STOP, S.STOPPED, 8, True),
    ],
    ids=["refuse-registered", "stop-received", "stop-processing"],
)
def test_refusal_and_stop_record_the_reason_and_end_processing(
    make: Any, action: Action, status: Status, code: int, on_time: bool | None
) -> None:
    subject = make()
    source = subject.status.value
    event = do(subject, action, vn(2, 11), reason="Không thuộc thẩm quyền")
    assert subject.status is status
    assert subject.reason == "Không thuộc thẩm quyền"
    assert subject.finished_at == vn(2, 11)
    assert subject.verdict == (None if on_time is None else "on_time")
    assert not subject.is_open
    assert (event.from_status, event.status, event.status_code, event.on_time) == (source, status.value, code, on_time)
    assert dict(event.attributes) == {"reason": "Không thuộc thẩm quyền"}
    assert event.event_type == EVENT_OF[action]


@pytest.mark.parametrize(("make", "action"), [(dossier, A.REFUSE_AT_DOOR), (processing, A.STOP)], ids=["refuse", "stop"])
@pytest.mark.parametrize("params", [{}, {"reason": ""}, {"reason": None}], ids=["absent", "empty", "none"])
def test_refusal_and_stop_need_a_reason(make: Any, action: Action, params: dict[str, Any]) -> None:
    error = refused(make(), action, vn(2, 11), **params)
    assert isinstance(error, RuleViolationError)
    assert error.code == "PARAMETER_REQUIRED"
    assert error.details == {"parameter": "reason"}


def test_stop_while_waiting_on_a_supplement_ends_the_clock_at_the_request() -> None:
    subject = walk(processing(legal_days=1), (A.REQUEST_SUPPLEMENT, vn(2, 10), {"missing": "Tờ khai"}))
    event = do(subject, A.STOP, vn(20, 10), reason="Quá hạn bổ sung")  # long after the appointment
    assert subject.finished_at == vn(20, 10)
    assert (subject.verdict, event.on_time) == ("on_time", True)


@pytest.mark.parametrize("make", [dossier, received, processing], ids=["registered", "received", "processing"])
def test_withdraw_ends_processing(make: Any) -> None:
    subject = make()
    source = subject.status.value
    event = do(subject, A.WITHDRAW, vn(2, 11), reason="Nộp nhầm")
    on_time = None if source == "registered" else True  # issue 8: withdrawn before receipt is not judged
    assert subject.status is S.WITHDRAWN
    assert subject.finished_at == vn(2, 11)
    assert subject.verdict == (None if on_time is None else "on_time")
    assert not subject.is_open
    assert event.event_type == EventType.DOSSIER_WITHDRAWN
    assert (event.from_status, event.status, event.status_code, event.on_time) == (source, "withdrawn", 7, on_time)
    assert (event.actor_id, event.actor_name, event.actor_role) == (None, None, "citizen")
    assert dict(event.attributes) == {"reason": "Nộp nhầm"}


def test_withdrawing_a_late_dossier_is_late() -> None:
    subject = late_dossier()
    event = do(subject, A.WITHDRAW, vn(5, 9))
    assert (subject.verdict, event.on_time) == ("late", False)
    assert dict(event.attributes) == {"reason": None}


def returned() -> Dossier:
    return walk(
        processing(),
        (A.APPROVE, vn(2, 10)),
        (A.MARK_RESULT_READY, vn(2, 11), {"result_reference": "KS-1"}),
        (A.RETURN_RESULT, vn(2, 14), {"via": "desk"}),
    )


def test_rate_twice() -> None:
    subject = returned()
    do(subject, A.RATE, vn(3, 9), rating="unsatisfied")
    error = refused(subject, A.RATE, vn(3, 10), rating="satisfied")
    assert isinstance(error, ConflictError)
    assert error.code == "ALREADY_RATED"
    assert subject.rating == "unsatisfied"


def test_rate_needs_a_rating() -> None:
    assert refused(returned(), A.RATE, vn(3, 9)).code == "PARAMETER_REQUIRED"


def test_mark_result_ready_before_approve() -> None:
    error = refused(processing(), A.MARK_RESULT_READY, vn(2, 11), result_reference="KS-1")
    assert isinstance(error, ConflictError)
    assert error.code == "DECISION_MISSING"


def test_mark_result_ready_needs_a_result_reference() -> None:
    subject = walk(processing(), (A.APPROVE, vn(2, 10)))
    assert refused(subject, A.MARK_RESULT_READY, vn(2, 11)).code == "PARAMETER_REQUIRED"


def test_return_result_needs_via() -> None:
    subject = walk(processing(), (A.APPROVE, vn(2, 10)), (A.MARK_RESULT_READY, vn(2, 11), {"result_reference": "KS-1"}))
    assert refused(subject, A.RETURN_RESULT, vn(2, 14)).code == "PARAMETER_REQUIRED"


@pytest.mark.parametrize(
    ("paid", "code"),
    [(0, "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"), (5000, "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"), (10000, None)],
)
def test_a_full_online_result_goes_by_post_once_paid_online(paid: int, code: str | None) -> None:
    subject = walk(processing(paid_online_total=paid), (A.APPROVE, vn(2, 10)),
                   (A.MARK_RESULT_READY, vn(2, 11), {"result_reference": "KS-1"}))
    if code is not None:
        assert refused(subject, A.RETURN_RESULT, vn(2, 14), via="post").code == code
        return
    event = do(subject, A.RETURN_RESULT, vn(2, 14), via="post")
    assert subject.returned_via == "post"
    assert dict(event.attributes) == {"via": "post"}


@pytest.mark.parametrize(
    ("make", "action", "allowed"),
    [
        (dossier, A.START_PROCESSING, ["receive", "refuse_at_door", "request_supplement"]),
        (dossier, A.RESUBMIT_SUPPLEMENT, ["withdraw"]),  # an applicant is told only the applicant's actions
        (received, A.RECEIVE, ["request_supplement", "start_processing", "stop", "apologise"]),
        (returned, A.WITHDRAW, ["rate"]),
        (returned, A.APOLOGISE, []),
    ],
    ids=["start-unreceived", "resubmit-unrequested", "receive-twice", "withdraw-returned", "apologise-returned"],
)
def test_illegal_action(make: Any, action: Action, allowed: list[str]) -> None:
    subject = make()
    error = refused(subject, action, vn(3, 9))
    assert isinstance(error, IllegalTransitionError)
    assert error.code == "ILLEGAL_TRANSITION"
    assert error.details["allowed_actions"] == [name.replace("_", "-") for name in allowed]
    assert error.details["current_status"] == subject.status.value
    assert error.details["action"] == action.slug


def test_every_action_has_one_effect_and_one_event() -> None:
    """Actions are rows: the state machine's table and the effects table name the same actions."""
    from chalicelib.domain.actions import EFFECTS
    from chalicelib.domain.lifecycle import TRANSITIONS

    assert set(EFFECTS) == set(Action) == set(TRANSITIONS)
