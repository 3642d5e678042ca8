"""Admission rules and submission of a dossier, catalogue values, dossier codes and the national vocabularies."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.calendar import ProcessingTime, WorkingCalendar
from chalicelib.domain.catalogue import Agency, DocumentType, FeeLine, Procedure
from chalicelib.domain.codes import dossier_code, parse_dossier_code
from chalicelib.domain.dossier import Applicant, Document, Dossier, SubmitDossier, check_admissible, submit
from chalicelib.domain.errors import RuleViolationError
from chalicelib.domain.events import DossierSubmitted
from chalicelib.domain.vocabulary import (
    AgencyLevel,
    ApplicantKind,
    Channel,
    OnlineForm,
    ResultDelivery,
    Status,
)
from chalicelib.topology import EventType

# --- a small hand-built catalogue ------------------------------------------------------------------------

DAY = date(2026, 11, 10)
PROVINCE = Agency(code="T46", name="UBND tỉnh", level=AgencyLevel.PROVINCE, kind="province", path=("T46",))
JUSTICE = Agency(
    code="T46.STP", name="Sở Tư pháp", level=AgencyLevel.PROVINCE, kind="department",
    path=("T46", "T46.STP"), department="justice",
)
HEALTH = Agency(
    code="T46.SYT", name="Sở Y tế", level=AgencyLevel.PROVINCE, kind="department",
    path=("T46", "T46.SYT"), department="health",
)
SERVICE_CENTRE = Agency(
    code="T46.HCC", name="Trung tâm Phục vụ hành chính công", level=AgencyLevel.PROVINCE, kind="service_centre",
    path=("T46", "T46.HCC"),
)
COMMUNE = Agency(
    code="T46.X01", name="UBND xã Phú Lộc", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X01"),
)
DISTRICT = Agency(
    code="T46.H01", name="UBND huyện A", level=AgencyLevel.DISTRICT, kind="district", path=("T46", "T46.H01"),
)

ID_CARD = DocumentType("id_card", "Căn cước công dân")
APPLICATION = DocumentType("application_form", "Tờ khai")


def procedure(**changes: object) -> Procedure:
    base = Procedure(
        code="1.001193",
        name="Đăng ký khai sinh",
        field="Hộ tịch",
        level=AgencyLevel.COMMUNE,
        department=None,
        online_form=OnlineForm.FULL,
        internal=False,
        fees=(FeeLine("Lệ phí", 8000), FeeLine("Phí sao y", 2000)),
        processing_time=ProcessingTime(3),
        required_documents=(ID_CARD, APPLICATION),
        postal_result=True,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


JUSTICE_PROCEDURE = procedure(code="2.000001", level=AgencyLevel.PROVINCE, department="justice")

CITIZEN = Applicant(
    kind=ApplicantKind.CITIZEN, name="Nguyễn Văn An", national_id="046123456789", phone="0912345678",
    email="an.nguyen@example.vn",
)
STATE_BODY = dataclasses.replace(CITIZEN, kind=ApplicantKind.STATE_BODY)
ALL_DOCUMENTS = (Document("id_card", "cccd.pdf"), Document("application_form", "to-khai.pdf"))


def command(**changes: object) -> SubmitDossier:
    base = SubmitDossier(
        owner_id="user-1",
        procedure_code="1.001193",
        agency_code=COMMUNE.code,
        channel=Channel.ONLINE,
        applicant=CITIZEN,
        documents=ALL_DOCUMENTS,
        result_delivery=ResultDelivery.ONLINE,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- Procedure.is_offered_at -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proc", "agency", "offered"),
    [
        (procedure(), COMMUNE, True),
        (procedure(), DISTRICT, False),
        (procedure(), JUSTICE, False),
        (procedure(level=AgencyLevel.DISTRICT), DISTRICT, True),
        (procedure(level=AgencyLevel.DISTRICT), COMMUNE, False),
        (JUSTICE_PROCEDURE, JUSTICE, True),
        (JUSTICE_PROCEDURE, HEALTH, False),
        (JUSTICE_PROCEDURE, SERVICE_CENTRE, True),
        (JUSTICE_PROCEDURE, PROVINCE, False),
        (JUSTICE_PROCEDURE, COMMUNE, False),
        (procedure(level=AgencyLevel.PROVINCE, department="health"), SERVICE_CENTRE, True),
    ],
    ids=[
        "commune-at-commune", "commune-at-district", "commune-at-department", "district-at-district",
        "district-at-commune", "province-at-own-department", "province-at-other-department",
        "province-at-service-centre", "province-at-province-root", "province-at-commune",
        "other-province-procedure-at-service-centre",
    ],
)
def test_is_offered_at(proc: Procedure, agency: Agency, offered: bool) -> None:
    assert proc.is_offered_at(agency) is offered


# --- fees ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fees", "total"),
    [((), 0), ((FeeLine("Lệ phí", 0),), 0), ((FeeLine("a", 8000), FeeLine("b", 2000)), 10000)],
)
def test_fees_total_sums_the_lines(fees: tuple[FeeLine, ...], total: int) -> None:
    assert procedure(fees=fees).fees_total == total


@pytest.mark.parametrize("amount", [-1, 1.5, 100.0, "100", True, False, None])
def test_fee_line_refuses_anything_but_a_non_negative_whole_number(amount: object) -> None:
    with pytest.raises(ValueError, match="non-negative whole number"):
        FeeLine("Lệ phí", amount)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [0, 1, 1_500_000])
def test_fee_line_accepts_whole_vnd(amount: int) -> None:
    assert FeeLine("Lệ phí", amount).amount == amount


# --- check_admissible ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proc", "agency", "cmd", "code"),
    [
        (procedure(), DISTRICT, command(), "PROCEDURE_NOT_AT_AGENCY"),
        (procedure(), JUSTICE, command(), "PROCEDURE_NOT_AT_AGENCY"),
        (JUSTICE_PROCEDURE, HEALTH, command(), "PROCEDURE_NOT_AT_AGENCY"),
        (procedure(online_form=OnlineForm.NONE), COMMUNE, command(channel=Channel.ONLINE), "PROCEDURE_NOT_ONLINE"),
        (
            procedure(online_form=OnlineForm.NONE), COMMUNE, command(channel=Channel.ONLINE_ASSISTED),
            "PROCEDURE_NOT_ONLINE",
        ),
        (procedure(internal=True), COMMUNE, command(), "INTERNAL_PROCEDURE"),
        (
            procedure(internal=True), COMMUNE,
            command(applicant=dataclasses.replace(CITIZEN, kind=ApplicantKind.BUSINESS)), "INTERNAL_PROCEDURE",
        ),
        (procedure(postal_result=False), COMMUNE, command(result_delivery=ResultDelivery.POST), "POSTAL_RESULT_NOT_ALLOWED"),
        (
            procedure(online_form=OnlineForm.NONE), COMMUNE,
            command(channel=Channel.DIRECT, result_delivery=ResultDelivery.ONLINE), "ONLINE_RESULT_NOT_ALLOWED",
        ),
        (procedure(), COMMUNE, command(documents=ALL_DOCUMENTS[:1]), "MISSING_DOCUMENTS"),
    ],
    ids=[
        "level-mismatch", "commune-procedure-at-province-department", "department-mismatch", "not-online",
        "not-online-assisted", "internal-by-citizen", "internal-by-business", "postal-result", "online-result",
        "missing-documents",
    ],
)
def test_check_admissible_refuses_with_the_rules_code(
    proc: Procedure, agency: Agency, cmd: SubmitDossier, code: str
) -> None:
    with pytest.raises(RuleViolationError) as caught:
        check_admissible(cmd, proc, agency, DAY)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("proc", "agency", "cmd"),
    [
        (procedure(), COMMUNE, command()),
        (JUSTICE_PROCEDURE, JUSTICE, command(agency_code=JUSTICE.code)),
        (JUSTICE_PROCEDURE, SERVICE_CENTRE, command(agency_code=SERVICE_CENTRE.code)),
        (procedure(level=AgencyLevel.PROVINCE, department="health"), SERVICE_CENTRE, command()),
        (procedure(online_form=OnlineForm.NONE), COMMUNE, command(channel=Channel.DIRECT, result_delivery=ResultDelivery.DESK)),
        (procedure(online_form=OnlineForm.NONE), COMMUNE, command(channel=Channel.POSTAL, result_delivery=ResultDelivery.POST)),
        (procedure(online_form=OnlineForm.PARTIAL), COMMUNE, command(channel=Channel.ONLINE_ASSISTED)),
        (procedure(internal=True), COMMUNE, command(applicant=STATE_BODY)),
        (procedure(postal_result=False), COMMUNE, command(result_delivery=ResultDelivery.DESK)),
        (procedure(required_documents=()), COMMUNE, command(documents=())),
        (
            procedure(), COMMUNE,
            command(documents=(*ALL_DOCUMENTS, Document("extra", "them.pdf"), Document("id_card", "copy.pdf"))),
        ),
    ],
    ids=[
        "commune", "own-department", "service-centre", "service-centre-any-department", "paper-for-offline",
        "postal-for-offline", "assisted-for-partial", "internal-by-state-body", "desk-result", "no-documents-needed",
        "extra-and-duplicate-documents",
    ],
)
def test_check_admissible_accepts(proc: Procedure, agency: Agency, cmd: SubmitDossier) -> None:
    check_admissible(cmd, proc, agency, DAY)


def test_missing_documents_lists_every_missing_type_in_catalogue_order() -> None:
    birth = DocumentType("birth_certificate", "Giấy chứng sinh")
    proc = procedure(required_documents=(ID_CARD, APPLICATION, birth))
    with pytest.raises(RuleViolationError) as caught:
        check_admissible(command(documents=(Document("application_form", "to-khai.pdf"),)), proc, COMMUNE, DAY)
    assert caught.value.code == "MISSING_DOCUMENTS"
    assert caught.value.details == {"missing_document_types": ["id_card", "birth_certificate"]}
    assert "Căn cước công dân" in caught.value.message
    assert "Giấy chứng sinh" in caught.value.message


def test_agency_rule_is_checked_before_the_others() -> None:
    proc = procedure(online_form=OnlineForm.NONE, internal=True, postal_result=False)
    with pytest.raises(RuleViolationError) as caught:
        check_admissible(command(documents=()), proc, DISTRICT, DAY)
    assert caught.value.code == "PROCEDURE_NOT_AT_AGENCY"


# --- submit ----------------------------------------------------------------------------------------------

NOW = datetime(2026, 10, 31, 18, 30, tzinfo=UTC)  # Sunday 1 November 2026, 01:30 in Vietnam


def submitted(cmd: SubmitDossier, proc: Procedure | None = None, *, now: datetime = NOW, sequence: int = 7) -> Dossier:
    return submit(
        cmd, proc or procedure(), COMMUNE, WorkingCalendar(),
        now=now, dossier_id="dos-0001", event_id="evt-00000001", sequence=sequence,
    )


@pytest.mark.parametrize(
    ("channel", "delivery", "status"),
    [
        (Channel.ONLINE, ResultDelivery.ONLINE, Status.REGISTERED),
        (Channel.ONLINE_ASSISTED, ResultDelivery.DESK, Status.RECEIVED),  # issue 8: a desk intake is received there
        (Channel.DIRECT, ResultDelivery.DESK, Status.RECEIVED),
        (Channel.POSTAL, ResultDelivery.POST, Status.RECEIVED),
    ],
)
def test_submit_status_depends_on_the_channel(channel: Channel, delivery: ResultDelivery, status: Status) -> None:
    dossier = submitted(command(channel=channel, result_delivery=delivery))
    assert dossier.status is status
    assert dossier.events[0].status == status.value
    assert dossier.events[0].status_code == status.national_code


def test_submit_codes_the_dossier_by_the_vietnam_business_date() -> None:
    dossier = submitted(command())
    assert dossier.code == "T46.X01-261101-0007"
    assert "-261101-" in dossier.code
    assert parse_dossier_code(dossier.code) == ("T46.X01", date(2026, 11, 1), 7)


def test_submit_before_vietnam_midnight_keeps_the_same_day() -> None:
    dossier = submitted(command(), now=datetime(2026, 10, 31, 16, 59, tzinfo=UTC))
    assert "-261031-" in dossier.code


@pytest.mark.parametrize("processing_days", [0, 1, 3, 15])
@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 11, 2, 3, 0, tzinfo=UTC), datetime(2026, 11, 6, 12, 0, tzinfo=UTC)],
    ids=["sunday-night", "monday-office-hours", "friday-after-closing"],
)
def test_submit_appointment_is_the_working_calendars(now: datetime, processing_days: int) -> None:
    dossier = submitted(command(), procedure(processing_time=ProcessingTime(processing_days)), now=now)
    assert dossier.appointment_at == WorkingCalendar().appointment(now, processing_days)


def test_submit_fills_the_dossier_from_command_procedure_and_agency() -> None:
    cmd = command()
    dossier = submitted(cmd)
    assert dossier.id == "dos-0001"
    assert dossier.owner_id == "user-1"
    assert dossier.procedure_code == "1.001193"
    assert dossier.procedure_name == "Đăng ký khai sinh"
    assert dossier.agency_code == COMMUNE.code
    assert dossier.agency_path == COMMUNE.path
    assert dossier.agency_level == "commune"
    assert dossier.online_form is OnlineForm.FULL
    assert dossier.applicant == CITIZEN
    assert dossier.documents == ALL_DOCUMENTS
    assert dossier.submitted_at == NOW
    assert dossier.fees_total == 10000
    assert dossier.version == 0


def test_submit_records_one_dossier_submitted_event() -> None:
    dossier = submitted(command(channel=Channel.ONLINE))
    assert len(dossier.events) == 1
    event = dossier.events[0]
    assert isinstance(event, DossierSubmitted)
    assert event.detail() == {
        "event_id": "evt-00000001",
        "event_type": EventType.DOSSIER_SUBMITTED,
        "schema_version": 1,
        "occurred_at": "2026-10-31T18:30:00.000Z",
        "dossier_id": "dos-0001",
        "dossier_code": "T46.X01-261101-0007",
        "procedure_code": "1.001193",
        "agency_code": "T46.X01",
        "agency_path": ["T46", "T46.X01"],
        "agency_level": "commune",
        "channel": "online",
        "online_form": "full",
        "applicant_kind": "citizen",
        "status": "registered",
        "status_code": 1,
        "fees_total": 10000,
    }


def test_event_detail_carries_no_personal_data() -> None:
    text = json.dumps(submitted(command()).events[0].detail(), ensure_ascii=False)
    for personal in (CITIZEN.name, CITIZEN.national_id, CITIZEN.phone, CITIZEN.email, "Nguyễn", "an.nguyen"):
        assert personal is not None
        assert personal not in text


def test_submit_refuses_what_check_admissible_refuses() -> None:
    with pytest.raises(RuleViolationError) as caught:
        submitted(command(documents=()))
    assert caught.value.code == "MISSING_DOCUMENTS"


def test_submit_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        submitted(command(), now=datetime(2026, 11, 2, 9, 0))


# --- dossier codes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agency", "day", "sequence", "code"),
    [
        ("T46.X01", date(2026, 11, 1), 1, "T46.X01-261101-0001"),
        ("T46.X01", date(2026, 1, 9), 42, "T46.X01-260109-0042"),
        ("000.00.01.H46", date(2026, 12, 31), 9999, "000.00.01.H46-261231-9999"),
        ("T46", date(2026, 12, 31), 10000, "T46-261231-10000"),
        ("T46", date(2030, 2, 28), 123456, "T46-300228-123456"),
    ],
)
def test_dossier_code(agency: str, day: date, sequence: int, code: str) -> None:
    assert dossier_code(agency, day, sequence) == code
    assert parse_dossier_code(code) == (agency, day, sequence)


@pytest.mark.parametrize("sequence", [0, -1])
def test_dossier_code_sequence_starts_at_one(sequence: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        dossier_code("T46", date(2026, 11, 1), sequence)


@pytest.mark.parametrize("sequence", [1, 9, 10, 999, 9999, 10000, 99999, 1_000_000])
def test_dossier_code_round_trips(sequence: int) -> None:
    day = date(2027, 3, 15)
    assert parse_dossier_code(dossier_code("T46.STP", day, sequence)) == ("T46.STP", day, sequence)


@pytest.mark.parametrize(
    "code",
    [
        "", "T46-261101-001", "T46-2611010-0001", "t46-261101-0001", "-261101-0001", ".T46-261101-0001",
        "T46-261101", "T46_261101_0001", "T46-261101-0001 ", "T46-26110A-0001",
    ],
)
def test_parse_dossier_code_refuses_malformed(code: str) -> None:
    with pytest.raises(ValueError, match="not a dossier code"):
        parse_dossier_code(code)


def test_parse_dossier_code_refuses_an_impossible_date() -> None:
    with pytest.raises(ValueError):
        parse_dossier_code("T46-261301-0001")


# --- vocabularies ----------------------------------------------------------------------------------------


def test_status_national_codes_are_one_to_ten_each_once() -> None:
    codes = [status.national_code for status in Status]
    assert sorted(codes) == list(range(1, 11))
    assert len(set(codes)) == len(codes) == len(Status)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Status.REGISTERED, 1), (Status.RECEIVED, 2), (Status.NOT_RECEIVED, 3), (Status.PROCESSING, 4),
        (Status.SUPPLEMENT_REQUESTED, 5), (Status.AWAITING_FEES, 6), (Status.WITHDRAWN, 7), (Status.STOPPED, 8),
        (Status.RESULT_READY, 9), (Status.RESULT_RETURNED, 10),
    ],
)
def test_status_national_code(status: Status, code: int) -> None:
    assert status.national_code == code


@pytest.mark.parametrize(
    ("channel", "code", "online"),
    [(Channel.DIRECT, 1, False), (Channel.ONLINE, 2, True), (Channel.ONLINE_ASSISTED, 2, True), (Channel.POSTAL, 3, False)],
)
def test_channel_national_code_and_online(channel: Channel, code: int, online: bool) -> None:
    assert channel.national_code == code
    assert channel.is_online is online


@pytest.mark.parametrize(("form", "level"), [(OnlineForm.FULL, 4), (OnlineForm.PARTIAL, 3), (OnlineForm.NONE, 2)])
def test_online_form_national_level(form: OnlineForm, level: int) -> None:
    assert form.national_level == level
