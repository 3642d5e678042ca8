"""Paper-free days chosen per agency, on in-memory fakes: the admin use case sets them, submission honours them."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.calendar import VN_TZ, ProcessingTime, WorkingCalendar
from chalicelib.domain.catalogue import Agency, DocumentType, FeeLine, Procedure
from chalicelib.domain.directives import PaperFreeDays
from chalicelib.domain.dossier import Applicant, Document, SubmitDossier
from chalicelib.domain.errors import NotFoundError, RuleViolationError
from chalicelib.domain.history import Actor
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, Channel, OnlineForm, ResultDelivery
from chalicelib.services.paper_free_days import paper_free_days, set_paper_free_days
from chalicelib.services.submission import Submitted, submit_dossier
from tests.fakes import InMemoryCatalogue, InMemoryPaperFreeDays, InMemoryTables, InMemoryUnitOfWork

COMMUNE = Agency(code="T46.X01", name="UBND xã Phú Lộc", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X01"))
OTHER_COMMUNE = Agency(code="T46.X02", name="UBND xã Phú Hòa", level=AgencyLevel.COMMUNE, kind="commune",
                       path=("T46", "T46.X02"))
BIRTH = Procedure(
    code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=(FeeLine("Lệ phí", 0),), processing_time=ProcessingTime(3),
    required_documents=(DocumentType("to_khai", "Tờ khai"),), postal_result=True,
)
DEATH = dataclasses.replace(BIRTH, code="1.000656", name="Đăng ký khai tử")
MARRIAGE = dataclasses.replace(BIRTH, code="1.000894", name="Đăng ký kết hôn", online_form=OnlineForm.PARTIAL)
THURSDAY = date(2026, 11, 5)
OWNER = Actor(user_id="user-1", role="citizen", display_name="Nguyễn Văn An")
CITIZEN = Applicant(kind=ApplicantKind.CITIZEN, name="Nguyễn Văn An", national_id="046123456789", phone="0912345678")


class World:
    def __init__(self) -> None:
        self.catalogue = InMemoryCatalogue([COMMUNE, OTHER_COMMUNE], [BIRTH, DEATH, MARRIAGE])
        self.store = InMemoryPaperFreeDays()
        self.tables = InMemoryTables()
        self.ids = (f"{n:032x}" for n in itertools.count(1))

    def submit(self, procedure: Procedure, channel: Channel, agency: Agency = COMMUNE, day: date = THURSDAY) -> Submitted:
        cmd = SubmitDossier(
            owner_id=OWNER.user_id, procedure_code=procedure.code, agency_code=agency.code, channel=channel,
            applicant=CITIZEN, documents=(Document("to_khai", "Tờ khai"),), result_delivery=ResultDelivery.DESK,
        )
        now = datetime(day.year, day.month, day.day, 9, tzinfo=VN_TZ).astimezone(UTC)
        return submit_dossier(
            cmd, InMemoryUnitOfWork(self.tables, self.catalogue), actor=OWNER, calendar_for=lambda _: WorkingCalendar(),
            now=now, new_id=lambda: next(self.ids), render=lambda d: {"id": d.id}, paper_free=self.store,
        )


@pytest.fixture
def world() -> World:
    return World()


def refusal(call: Any) -> str | None:
    try:
        call()
    except RuleViolationError as error:
        return error.code
    return None


def test_an_admin_sets_an_agencys_paper_free_days_and_reads_them_back(world: World) -> None:
    """An agency's paper-free days are its own choice of days and of at least two full-online procedures (Bà Rịa–Vũng Tàu, 20 May 2022)."""  # noqa: E501
    assert paper_free_days(COMMUNE.code, world.catalogue, world.store) == PaperFreeDays(COMMUNE.code, frozenset(), frozenset())
    chosen = set_paper_free_days(COMMUNE.code, [THURSDAY], [BIRTH.code, DEATH.code, BIRTH.code], world.catalogue, world.store)
    assert chosen == PaperFreeDays(COMMUNE.code, frozenset({THURSDAY}), frozenset({BIRTH.code, DEATH.code}))
    assert paper_free_days(COMMUNE.code, world.catalogue, world.store) == chosen
    assert paper_free_days(OTHER_COMMUNE.code, world.catalogue, world.store).procedures == frozenset()


def test_a_choice_that_breaks_the_directive_is_refused_and_nothing_is_saved(world: World) -> None:
    code = refusal(lambda: set_paper_free_days(COMMUNE.code, [THURSDAY], [BIRTH.code, MARRIAGE.code], world.catalogue,
                                               world.store))
    assert code == "PAPER_FREE_NOT_FULL_ONLINE"
    assert world.store.schedules == {}
    with pytest.raises(NotFoundError):
        set_paper_free_days("T46.X99", [THURSDAY], [BIRTH.code, DEATH.code], world.catalogue, world.store)
    with pytest.raises(NotFoundError):
        set_paper_free_days(COMMUNE.code, [THURSDAY], [BIRTH.code, "9.999999"], world.catalogue, world.store)


@pytest.mark.parametrize(
    ("procedure", "channel", "agency", "day", "code"),
    [
        (BIRTH, Channel.DIRECT, COMMUNE, THURSDAY, "PAPER_FREE_DAY"),
        (DEATH, Channel.POSTAL, COMMUNE, THURSDAY, "PAPER_FREE_DAY"),
        (BIRTH, Channel.ONLINE, COMMUNE, THURSDAY, None),
        (BIRTH, Channel.ONLINE_ASSISTED, COMMUNE, THURSDAY, None),
        (BIRTH, Channel.DIRECT, COMMUNE, date(2026, 11, 6), None),
        (BIRTH, Channel.DIRECT, OTHER_COMMUNE, THURSDAY, None),
        (MARRIAGE, Channel.DIRECT, COMMUNE, THURSDAY, None),
    ],
    ids=["chosen-direct", "chosen-postal", "online", "assisted", "another-day", "another-commune", "not-chosen"],
)
def test_submission_honours_the_agencys_paper_free_days(
    world: World, procedure: Procedure, channel: Channel, agency: Agency, day: date, code: str | None
) -> None:
    set_paper_free_days(COMMUNE.code, [THURSDAY], [BIRTH.code, DEATH.code], world.catalogue, world.store)
    assert refusal(lambda: world.submit(procedure, channel, agency, day)) == code
    assert len(world.tables.dossiers) == (0 if code else 1)  # a refusal leaves nothing behind


def test_the_seed_loads_an_example_that_keeps_the_directive() -> None:
    from infra.seed import agencies, procedures
    from infra.seed import paper_free_days as seeded

    agency_list = agencies(46)
    schedules = seeded(agency_list, procedures())  # each checked as the admin route checks it
    departments = {a.code: a.department for a in agency_list}
    assert {departments[s.agency_code] for s in schedules} == {"tai_chinh", "noi_vu"}
    assert all(len(s.procedures) >= 2 and s.days for s in schedules)
