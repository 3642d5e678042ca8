"""The use cases on in-memory fakes (`tests/fakes.py`): submission, actions, reads, the deadline watch, the
calendar. No I/O: these run in milliseconds; the same flows run on DynamoDB Local in tests/integration."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from chalicelib.domain.actions import ActOnDossier
from chalicelib.domain.calendar import DAY_OFF, ProcessingTime, WorkingCalendar
from chalicelib.domain.catalogue import DocumentType, FeeLine, Procedure
from chalicelib.domain.dossier import Document, SubmitDossier
from chalicelib.domain.errors import ForbiddenError, NotFoundError, RuleViolationError, VersionConflictError
from chalicelib.domain.history import Actor
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.vocabulary import AgencyLevel, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.services import calendar, queries, reports
from chalicelib.services.deadline_watch import watch_deadlines
from chalicelib.services.lifecycle import act_on_dossier
from chalicelib.services.submission import Submitted, submit_dossier
from chalicelib.store.sequences import BLOCK_LIFE, GUESSES, MAX_BLOCK, SequenceCache
from tests.fakes import (
    InMemoryCalendars,
    InMemoryCatalogue,
    InMemoryDossiers,
    InMemoryTables,
    InMemoryUnitOfWork,
)
from tests.unit.test_actions import CITIZEN, COMMUNE, OFFICER, OFFICER_ELSEWHERE, OTHER_COMMUNE, OWNER, STRANGER, vn

BIRTH = Procedure(
    code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=(FeeLine("Lệ phí", 0),), processing_time=ProcessingTime(3),
    required_documents=(DocumentType("to_khai", "Tờ khai"),), postal_result=True,
)
CAL = WorkingCalendar()


class World:
    """One province's worth of fakes, and the use cases called as the handlers call them."""

    def __init__(self) -> None:
        self.catalogue = InMemoryCatalogue([COMMUNE, OTHER_COMMUNE], [BIRTH])
        self.tables = InMemoryTables()
        self.dossiers = InMemoryDossiers(self.tables)
        self.ids = (f"{n:032x}" for n in itertools.count(1))
        self.container = SequenceCache()  # what one warm container knows of the numbers

    def uow(self, sequences: SequenceCache | None = None) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.tables, self.catalogue, sequences or self.container)

    def submit(self, *, owner: Actor = OWNER, key: str | None = None, body_hash: str = "h1",
               agency: str = COMMUNE.code, at: Any = None, uow: InMemoryUnitOfWork | None = None) -> Submitted:
        cmd = SubmitDossier(
            owner_id=owner.user_id, procedure_code=BIRTH.code, agency_code=agency, channel=Channel.ONLINE,
            applicant=CITIZEN, documents=(Document("to_khai", "Tờ khai"),), result_delivery=ResultDelivery.ONLINE,
        )
        return submit_dossier(
            cmd, uow or self.uow(), actor=owner, calendar_for=lambda _: CAL, now=at or vn(2, 8),
            new_id=lambda: next(self.ids), render=lambda d: {"id": d.id, "code": d.code, "version": d.version},
            idempotency_key=key, body_hash=body_hash,
        )

    def act(self, dossier_id: str, action: Action, actor: Actor, version: int, at: Any = None, **params: Any) -> Any:
        cmd = ActOnDossier(dossier_id, action, version, params)
        return act_on_dossier(cmd, self.uow(), actor=actor, calendar_for=lambda _: CAL, now=at or vn(2, 9),
                              new_id=lambda: next(self.ids))


@pytest.fixture
def world() -> World:
    return World()


# --- submission ------------------------------------------------------------------------------------------


def test_a_submission_commits_the_dossier_its_history_and_its_event_together(world: World) -> None:
    answer = world.submit()
    assert answer.status_code == 201 and not answer.replayed
    stored = world.tables.dossiers[answer.body["id"]]
    assert (stored.status, stored.version, stored.code) == (Status.REGISTERED, 1, f"{COMMUNE.code}-261102-0001")
    assert [e.action for e in world.tables.history[stored.id]] == ["submit"]
    assert [e.event_type for e in world.tables.outbox] == ["DossierSubmitted"]
    assert world.tables.commits == 1


def test_numbers_are_dense_per_agency_and_day(world: World) -> None:
    codes = [world.submit().body["code"] for _ in range(3)]
    assert [c.rsplit("-", 1)[1] for c in codes] == ["0001", "0002", "0003"]
    assert world.tables.commits == 3  # a warm container guesses right: one transaction each


class Clock:
    """A container's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def number(answer: Submitted) -> int:
    return int(answer.body["code"].rsplit("-", 1)[1])


def in_turn(world: World, clock: Clock, containers: list[SequenceCache], count: int, apart: float) -> list[int]:
    """`count` submissions at one agency, `apart` seconds apart, from `containers` taking turns: their numbers."""
    numbers = []
    for i in range(count):
        clock.now += apart
        numbers.append(number(world.submit(uow=world.uow(containers[i % len(containers)]))))
    return numbers


def test_containers_taking_turns_slowly_keep_the_numbers_dense_and_in_order(world: World) -> None:
    """An ordinary commune's day served by several containers: each guess from a container that did not take the
    previous number loses (its transaction writes nothing and tells the current number), the next wins; minutes
    apart, no container reserves more than the number it uses."""
    clock = Clock()
    assert in_turn(world, clock, [SequenceCache(clock) for _ in range(3)], 9, apart=120) == list(range(1, 10))
    assert world.tables.commits == 9 and world.tables.requests == 1 + 8 * 2  # density's price: a lost guess each


def test_containers_busy_at_one_agency_reserve_blocks_with_bounded_gaps(world: World) -> None:
    """Four containers taking turns at one agency, 20 submissions a second: after lost guesses each reserves blocks
    sized by its own recent rate (at most MAX_BLOCK) in the same conditional write, and uses them with no write of
    the sequence. Unique always; the unused numbers are the tails the containers still hold, dropped after
    BLOCK_LIFE; once the agency is quiet, blocks of one again: dense from there."""
    clock = Clock()
    containers = [SequenceCache(clock) for _ in range(4)]
    busy = in_turn(world, clock, containers, 400, apart=0.05)
    key, top = next(iter(world.tables.sequences.items()))
    assert len(set(busy)) == 400
    assert world.tables.requests <= 1.2 * 400
    assert 0 < top - 400 <= 4 * (MAX_BLOCK - 1)  # reserved, not used: the tails the containers hold
    assert {container.block_size(key) for container in containers} == {MAX_BLOCK}

    clock.now += BLOCK_LIFE + 1  # the peak is over: held numbers are dropped, and each guess is a block of one
    assert in_turn(world, clock, containers, 6, apart=120) == list(range(top + 1, top + 7))


def test_a_cancelled_transaction_gives_its_held_number_back(world: World) -> None:
    """A replay (used Idempotency-Key) taking a number from the container's block writes nothing: the number goes
    back, and the next submission there uses it."""
    clock = Clock()
    mine, other = SequenceCache(clock), SequenceCache(clock)
    world.submit(uow=world.uow(mine), key="k1")  # 1
    world.submit(uow=world.uow(other))  # 2
    world.submit(uow=world.uow(mine))  # loses once (contention), then 3
    assert number(world.submit(uow=world.uow(mine))) == 4  # guess 4, reserving 4..5: 5 held
    assert world.submit(uow=world.uow(mine), key="k1").replayed
    assert number(world.submit(uow=world.uow(mine))) == 5
    assert world.tables.sequences[next(iter(world.tables.sequences))] == 5


def test_a_number_given_back_after_an_atomic_add_of_one_is_the_next_one_used() -> None:
    clock = Clock()
    sequences = SequenceCache(clock)
    sequences.give_back(sequences.took("SEQ#T46.X01#261102", 5, 5))  # its transaction was cancelled
    clock.now += 1
    assert sequences.claim("SEQ#T46.X01#261102").number == 5


def test_a_number_lost_again_and_again_is_taken_outright_and_stays_unique(world: World) -> None:
    """Contention: others take the number each time this submission guesses; after `GUESSES` lost guesses it takes
    the next number outside its transaction, so it always ends."""
    uow = world.uow(SequenceCache())
    original_commit = uow.commit
    races = iter(range(GUESSES))

    def raced_commit() -> None:
        if next(races, None) is not None:
            world.submit(uow=world.uow(SequenceCache()))  # another container wins the number right now
        original_commit()

    uow.commit = raced_commit  # type: ignore[method-assign]
    loser = world.submit(uow=uow)
    codes = sorted(d.code for d in world.tables.dossiers.values())
    assert len(set(codes)) == GUESSES + 1 and loser.body["code"] == codes[-1]


def test_an_idempotency_key_replays_the_first_answer_without_a_second_dossier(world: World) -> None:
    first = world.submit(key="k1")
    again = world.submit(key="k1")
    assert again.replayed and again.body == first.body
    assert len(world.tables.dossiers) == 1 and len(world.tables.outbox) == 1


def test_a_key_reused_with_another_body_is_refused(world: World) -> None:
    world.submit(key="k1", body_hash="h1")
    with pytest.raises(RuleViolationError) as caught:
        world.submit(key="k1", body_hash="h2")
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_the_same_key_from_another_applicant_is_another_request(world: World) -> None:
    world.submit(key="k1")
    world.submit(key="k1", owner=STRANGER)
    assert len(world.tables.dossiers) == 2


def test_a_refused_submission_takes_no_number_and_writes_nothing(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.submit(agency="T46.NOWHERE")
    assert not world.tables.sequences and not world.tables.dossiers and world.tables.commits == 0


def test_a_lost_race_on_the_key_answers_with_the_winners_response(world: World) -> None:
    """Two requests with one key: the key is not read before the write, so the loser finds it used when its
    transaction is cancelled, and answers what the winner remembered; the cancelled transaction took no number."""
    uow = world.uow(SequenceCache())
    original_commit = uow.commit
    winner: dict[str, Any] = {}

    def raced_commit() -> None:
        if not winner:  # the winner commits just before the loser
            winner["answer"] = world.submit(key="k1")
        original_commit()

    uow.commit = raced_commit  # type: ignore[method-assign]
    loser = world.submit(key="k1", uow=uow)
    assert loser.replayed and loser.body == winner["answer"].body
    assert len(world.tables.dossiers) == 1 and list(world.tables.sequences.values()) == [1]


# --- actions ---------------------------------------------------------------------------------------------


def test_an_action_moves_the_dossier_and_returns_it_at_its_new_version(world: World) -> None:
    dossier_id = world.submit().body["id"]
    received = world.act(dossier_id, Action.RECEIVE, OFFICER, version=1)
    assert (received.status, received.version) == (Status.RECEIVED, 2)
    assert world.tables.dossiers[dossier_id].version == 2
    assert [e.event_type for e in world.tables.outbox][-1] == "DossierReceived"


def test_a_racing_officer_loses_and_is_told_the_current_version(world: World) -> None:
    dossier_id = world.submit().body["id"]
    world.act(dossier_id, Action.RECEIVE, OFFICER, version=1)
    with pytest.raises(VersionConflictError) as caught:
        world.act(dossier_id, Action.REFUSE_AT_DOOR, OFFICER, version=1, reason="Thiếu giấy tờ")
    assert caught.value.details["current_version"] == 2
    assert caught.value.details["current_status"] == "received"
    assert len(world.tables.history[dossier_id]) == 2  # the loser wrote nothing


def test_an_officer_of_another_agency_cannot_act(world: World) -> None:
    dossier_id = world.submit().body["id"]
    with pytest.raises(ForbiddenError) as caught:
        world.act(dossier_id, Action.RECEIVE, OFFICER_ELSEWHERE, version=1)
    assert caught.value.code == "AGENCY_OUT_OF_SCOPE"


def test_acting_on_an_unknown_dossier_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError) as caught:
        world.act("f" * 32, Action.RECEIVE, OFFICER, version=1)
    assert caught.value.code == "DOSSIER_NOT_FOUND"


# --- reads -----------------------------------------------------------------------------------------------


def test_others_dossiers_are_not_found_rather_than_forbidden(world: World) -> None:
    dossier_id = world.submit().body["id"]
    assert queries.readable_dossier(dossier_id, OWNER, world.dossiers).id == dossier_id
    with pytest.raises(NotFoundError):
        queries.readable_dossier(dossier_id, STRANGER, world.dossiers)


def test_an_applicant_pages_through_their_own_dossiers_newest_first(world: World) -> None:
    ids = [world.submit(at=vn(2, 8 + n)).body["id"] for n in range(5)]
    world.submit(owner=STRANGER)
    seen, cursor = [], None
    while True:
        page, cursor = queries.list_my_dossiers(OWNER, 2, cursor, world.dossiers)
        seen += [d.id for d in page]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_the_work_queue_lists_most_urgent_first_when_overdue(world: World) -> None:
    for n in range(3):
        dossier_id = world.submit(at=vn(2, 8 + n)).body["id"]
        world.act(dossier_id, Action.RECEIVE, OFFICER, version=1, at=vn(2, 8 + n, 30))
    page, _ = queries.work_queue(COMMUNE.code, OFFICER, world.catalogue, world.dossiers, status=None, due_before=None,
                                 overdue=True, limit=10, cursor=None, now=vn(20, 9))
    assert [d.due_at for d in page] == sorted(d.due_at for d in page) and len(page) == 3


# --- the deadline watch ----------------------------------------------------------------------------------


def test_the_watch_warns_once_per_due_time(world: World) -> None:
    dossier_id = world.submit().body["id"]
    world.act(dossier_id, Action.RECEIVE, OFFICER, version=1)
    first = watch_deadlines(world.uow, world.dossiers, world.catalogue.agency_codes(), CAL, now=vn(20, 7))
    again = watch_deadlines(world.uow, world.dossiers, world.catalogue.agency_codes(), CAL, now=vn(20, 8))
    assert (first.overdue, again.overdue, again.already_warned) == (1, 0, 1)
    assert [e.event_type for e in world.tables.outbox].count("DossierOverdue") == 1


# --- the calendar ----------------------------------------------------------------------------------------


def test_declared_days_count_at_once_and_can_be_withdrawn() -> None:
    calendars = InMemoryCalendars()
    days = calendar.declare_day(date(2026, 11, 3), DAY_OFF, "Bão", calendars)
    assert [d.day for d in days] == [date(2026, 11, 3)]
    assert not calendars.for_year(2026).is_working_day(date(2026, 11, 3))
    assert calendar.undeclare_day(date(2026, 11, 3), calendars) == []


# --- the composition root takes fakes ---------------------------------------------------------------------


def test_the_container_hands_out_the_fakes_it_is_given_and_builds_nothing_real() -> None:
    from chalicelib.bootstrap import Container
    from chalicelib.settings import Settings
    from tests.fakes import fake_adapters

    adapters = fake_adapters(InMemoryCatalogue([COMMUNE], [BIRTH]))
    c = Container(Settings.from_env({"JWT_KEY": "k" * 32}), adapters=adapters)
    assert c.catalogue is adapters["catalogue"] and c.dossiers is adapters["dossiers"]
    assert isinstance(c.unit_of_work(), InMemoryUnitOfWork)
    assert "_tables" not in c.__dict__  # no pynamodb model was bound to any table
    with pytest.raises(ValueError):
        Container(Settings.from_env({}), adapters={"nonsense": object()})


@pytest.mark.parametrize(
    "forged",
    [
        {"pk": {"S": ""}, "sk": {"S": ""}, "owner_id": {"S": OWNER.user_id}, "submitted_at": {"S": ""}},
        {"pk": {"S": "DOSSIER#" + "0" * 32}, "sk": {"S": "HISTORY#1"}, "owner_id": {"S": OWNER.user_id},
         "submitted_at": {"S": "2026-11-02T01:00:00.000Z"}},
        {"pk": {"S": "DOSSIER#" + "0" * 32}, "sk": {"S": "DOSSIER"}, "owner_id": {"S": OWNER.user_id},
         "submitted_at": {"S": "x" * 2000}},
    ],
    ids=["empty-strings", "another-item-kind", "long-sort-value"],
)
def test_a_forged_cursor_never_reaches_the_table(world: World, forged: dict[str, Any]) -> None:
    """A reviewer's cursor of empty strings got a 500 from DynamoDB; every key must be shaped as the table writes it."""
    from chalicelib.domain.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        queries.list_my_dossiers(OWNER, 10, forged, world.dossiers)
    assert caught.value.code == "CURSOR_INVALID"


def test_a_citizen_asking_for_an_agencys_queue_is_refused_before_any_lookup(world: World) -> None:
    with pytest.raises(ForbiddenError) as caught:
        queries.work_queue("ZZZ123", OWNER, world.catalogue, world.dossiers, status=None, due_before=None,
                           overdue=False, limit=10, cursor=None, now=vn(2, 9))
    assert caught.value.code == "ROLE_NOT_ALLOWED"


def test_the_dossier_view_shows_exactly_the_fields_its_schema_documents(world: World) -> None:
    """One field list: a field added to the view but not to `dossier.v1.json` (or the reverse) fails here."""
    from chalicelib.handlers.views import dossier_view
    from chalicelib.validation import load_schema, validate

    dossier_id = world.submit().body["id"]
    view = dossier_view(world.tables.dossiers[dossier_id], vn(2, 9), OWNER)
    schema = load_schema("dossier.v1.json")
    assert set(view) == set(schema["properties"])
    validate("dossier.v1.json", view)


def test_the_kpi_report_reads_what_the_counting_fold_applied_once(world: World) -> None:
    """The report as a use case on fakes: events folded and applied (twice: the second delivery changes nothing),
    then read back as the report's filing figures."""
    from chalicelib.domain.counting import fold
    from chalicelib.domain.roles import Role
    from tests.fakes import InMemoryCounters

    counters = InMemoryCounters()
    for _ in range(3):
        world.submit()
    events = list(world.tables.outbox)
    assert counters.apply(fold(events)).events_applied == 3
    assert counters.apply(fold(events)).events_skipped == 3
    admin = Actor(user_id="admin-1", role=Role.ADMIN.value, display_name="Quản trị")
    from tests.fakes import InMemoryListings

    listings = InMemoryListings(world.catalogue)
    report = reports.kpi_report(COMMUNE.code, "2026-11", None, admin, world.catalogue, listings, counters, [])
    assert report["filed"]["total"] == 3 and report["filed"]["by_channel"]["online"] == 3


@pytest.mark.parametrize(("scope", "on_time"), [("awaiting_applicant", True), ("every_dossier", False)])
def test_the_repeated_supplement_rule_is_the_provinces_configuration(world: World, scope: str, on_time: bool) -> None:
    """Index 2.1's "more than one supplement request is late" as configuration (issue 8 point 3): by default only a
    dossier whose clock ended at an unanswered request; a province may read it for every dossier."""
    from chalicelib.settings import Settings

    policy = Settings.from_env({"JWT_KEY": "k", "SUPPLEMENT_SCOPE": scope}).supplement_policy
    dossier_id = world.submit().body["id"]
    steps: list[tuple[Action, Actor, dict[str, Any]]] = [
        (Action.RECEIVE, OFFICER, {}), (Action.REQUEST_SUPPLEMENT, OFFICER, {"missing": "CCCD"}),
        (Action.RESUBMIT_SUPPLEMENT, OWNER, {}), (Action.REQUEST_SUPPLEMENT, OFFICER, {"missing": "Giấy chứng sinh"}),
        (Action.RESUBMIT_SUPPLEMENT, OWNER, {}), (Action.APPROVE, OFFICER, {}),
        (Action.MARK_RESULT_READY, OFFICER, {"result_reference": "KS-1"}),
    ]
    for version, (action, actor, params) in enumerate(steps, start=1):
        cmd = ActOnDossier(dossier_id, action, version, params)
        done = act_on_dossier(cmd, world.uow(), actor=actor, calendar_for=lambda _: CAL, now=vn(2, 9 + version // 2),
                              new_id=lambda: next(world.ids), supplement_policy=policy)
    assert done.verdict == ("on_time" if on_time else "late")
