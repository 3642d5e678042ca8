"""The province's directives as truth tables, their sources and date ranges, paper-free days chosen per agency, the
targets, and the counters lifecycle events move (the filed ones by filer kind)."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain.calendar import ProcessingTime
from chalicelib.domain.catalogue import Agency, DocumentType, Procedure
from chalicelib.domain.counting import agency_scope, aggregate, metrics_of
from chalicelib.domain.directives import (
    BA_RIA_VUNG_TAU_2022,
    DECISION_2647_2023,
    DIRECTIVES,
    QUANG_NAM_2021,
    SOURCES,
    Directive,
    Facts,
    PaperFreeDays,
    Source,
    Target,
    enforce,
    plan_paper_free_days,
    targets_in_force,
)
from chalicelib.domain.dossier import Applicant, Document, SubmitDossier, check_admissible
from chalicelib.domain.errors import RuleViolationError
from chalicelib.domain.events import EVENTS, DossierChanged
from chalicelib.domain.kpi import LIFECYCLE_METRICS, filing_figures, lifecycle_figures
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, Channel, OnlineForm, ResultDelivery
from chalicelib.topology import EventType
from tests import samples

DAY = date(2026, 11, 10)  # a Tuesday
PAPER_FREE = frozenset({DAY, date(2026, 11, 24)})
BY_CODE = {directive.code: directive for directive in DIRECTIVES}
INTERNAL_FILERS = [kind for kind in ApplicantKind if kind.files_internal_dossiers]
PAPER = (Channel.DIRECT, Channel.POSTAL)


def facts(**changes: Any) -> Facts:
    base: dict[str, Any] = {
        "business_day": DAY,
        "channel": Channel.ONLINE,
        "applicant_kind": ApplicantKind.CITIZEN,
        "procedure_internal": False,
        "online_form": OnlineForm.FULL,
    }
    return Facts(**(base | changes))


def refusal(stage: str, subject: Facts, rules: tuple[Directive, ...] = DIRECTIVES) -> str | None:
    """The code `enforce` refuses with, or None when it lets the facts through."""
    try:
        enforce(stage, subject, rules)
    except RuleViolationError as error:
        assert error.message
        return error.code
    return None


def test_directive_codes_are_unique_and_each_has_a_message_a_stage_and_a_source() -> None:
    assert len(BY_CODE) == len(DIRECTIVES)
    assert set(BY_CODE) == {
        "INTERNAL_DOSSIER_MUST_BE_ONLINE", "INTERNAL_RESULT_MUST_BE_ONLINE", "INTERNAL_RESULT_RETURNED_ONLINE",
        "PAPER_FREE_DAY", "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT",
    }
    for directive in DIRECTIVES:
        assert directive.message.strip()
        assert directive.stage in ("intake", "return")
        assert directive.source in SOURCES


# --- 11. internal dossiers: who files them, online, results online ---------------------------------------


def test_internal_dossiers_are_defined_by_who_files_them() -> None:
    """Internal dossiers are those filed by state administrative bodies, public-service units, political-social organisations and state-owned enterprises (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    assert set(INTERNAL_FILERS) == {
        ApplicantKind.STATE_BODY, ApplicantKind.PUBLIC_SERVICE_UNIT, ApplicantKind.POLITICAL_SOCIAL_ORGANISATION,
        ApplicantKind.STATE_OWNED_ENTERPRISE,
    }
    assert not ApplicantKind.CITIZEN.files_internal_dossiers and not ApplicantKind.BUSINESS.files_internal_dossiers
    assert ApplicantKind("state_body") is ApplicantKind.STATE_BODY  # the value stored dossiers carry still reads


INTERNAL_ONLINE_TABLE = [
    pytest.param(
        kind, internal, form, channel,
        # the directive, said plainly: an internal filer files online whatever procedure is offered online
        kind.files_internal_dossiers and form is not OnlineForm.NONE and not channel.is_online,
        id=f"{kind.value}-{'internal' if internal else 'public'}-{form.value}-{channel.value}",
    )
    for kind, internal, form, channel in itertools.product(ApplicantKind, (True, False), OnlineForm, Channel)
]


@pytest.mark.parametrize(("kind", "internal", "form", "channel", "broken"), INTERNAL_ONLINE_TABLE)
def test_internal_filers_must_file_online_any_procedure_offered_online(
    kind: ApplicantKind, internal: bool, form: OnlineForm, channel: Channel, broken: bool
) -> None:
    """An internal filer files online every procedure offered online, full or partial, flagged internal or not (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    subject = facts(applicant_kind=kind, procedure_internal=internal, online_form=form, channel=channel)
    assert BY_CODE["INTERNAL_DOSSIER_MUST_BE_ONLINE"].broken_by(subject) is broken
    assert refusal("intake", subject) == ("INTERNAL_DOSSIER_MUST_BE_ONLINE" if broken else None)


def test_internal_online_table_has_refusals_and_passes() -> None:
    outcomes = Counter(case.values[-1] for case in INTERNAL_ONLINE_TABLE)
    # 4 internal kinds × {internal, public} × {full, partial} × {direct, postal}
    assert outcomes == {True: 32, False: len(INTERNAL_ONLINE_TABLE) - 32}


COMMUNE = Agency(code="T46.X01", name="UBND xã Phú Lộc", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X01"))
OTHER_COMMUNE = Agency(code="T46.X02", name="UBND xã Phú Hồ", level=AgencyLevel.COMMUNE, kind="commune",
                       path=("T46", "T46.X02"))
PROCEDURE = Procedure(
    code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=(), processing_time=ProcessingTime(3),
    required_documents=(DocumentType("id_card", "Căn cước công dân"),), postal_result=True, paper_free_days=PAPER_FREE,
)
PARTIAL = dataclasses.replace(PROCEDURE, code="1.000894", online_form=OnlineForm.PARTIAL, paper_free_days=frozenset())
DEATH = dataclasses.replace(PROCEDURE, code="1.000656", paper_free_days=frozenset())
NOT_ONLINE = dataclasses.replace(PROCEDURE, code="2.001019", online_form=OnlineForm.NONE, paper_free_days=frozenset())
PROVINCIAL = dataclasses.replace(DEATH, code="2.001610", level=AgencyLevel.PROVINCE, department="tai_chinh")


def submission(channel: Channel, kind: ApplicantKind = ApplicantKind.CITIZEN,
               delivery: ResultDelivery = ResultDelivery.DESK, procedure: Procedure = PROCEDURE) -> SubmitDossier:
    return SubmitDossier(
        owner_id="user-1", procedure_code=procedure.code, agency_code=COMMUNE.code, channel=channel,
        applicant=Applicant(kind, "Nguyễn Văn An", "046123456789", "0912345678"),
        documents=(Document("id_card", "cccd.pdf"),), result_delivery=delivery,
    )


def refused_code(cmd: SubmitDossier, procedure: Procedure, day: date = DAY, agency: Agency = COMMUNE) -> str | None:
    try:
        check_admissible(cmd, procedure, agency, day)
    except RuleViolationError as error:
        return error.code
    return None


@pytest.mark.parametrize("channel", PAPER, ids=[c.value for c in PAPER])
@pytest.mark.parametrize("kind", INTERNAL_FILERS, ids=[k.value for k in INTERNAL_FILERS])
def test_a_desk_refuses_an_internal_paper_dossier_with_its_own_code(kind: ApplicantKind, channel: Channel) -> None:
    """A desk refuses an internal filer's paper dossier of a procedure offered online, with INTERNAL_DOSSIER_MUST_BE_ONLINE (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    online = ResultDelivery.ONLINE
    assert refused_code(submission(channel, kind, online, PARTIAL), PARTIAL) == "INTERNAL_DOSSIER_MUST_BE_ONLINE"
    assert refused_code(submission(Channel.ONLINE, kind, online, PARTIAL), PARTIAL) is None
    assert refused_code(submission(channel, kind, ResultDelivery.DESK, NOT_ONLINE), NOT_ONLINE) is None  # not online
    assert refused_code(submission(channel, ApplicantKind.CITIZEN, procedure=PARTIAL), PARTIAL) is None


@pytest.mark.parametrize(
    ("kind", "form", "delivery"), list(itertools.product(ApplicantKind, OnlineForm, ResultDelivery)),
    ids=lambda value: value.value,
)
def test_internal_filers_receive_the_result_online(kind: ApplicantKind, form: OnlineForm, delivery: ResultDelivery) -> None:
    """An internal dossier of a procedure offered online asks for its result online and is returned it online (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    broken = kind.files_internal_dossiers and form is not OnlineForm.NONE and delivery is not ResultDelivery.ONLINE
    asked = facts(applicant_kind=kind, online_form=form, result_delivery=delivery)
    assert refusal("intake", asked) == ("INTERNAL_RESULT_MUST_BE_ONLINE" if broken else None)
    returned = facts(applicant_kind=kind, online_form=form, returned_via=delivery)
    assert refusal("return", returned) == ("INTERNAL_RESULT_RETURNED_ONLINE" if broken else None)


@pytest.mark.parametrize("kind", list(ApplicantKind), ids=lambda kind: kind.value)
def test_internal_procedures_are_filed_by_internal_filers_only(kind: ApplicantKind) -> None:
    """A procedure flagged internal is filed by any internal filer, and by no citizen or business (Quảng Nam, 13 Sep 2021)."""
    internal = dataclasses.replace(PARTIAL, internal=True)
    code = refused_code(submission(Channel.ONLINE, kind, ResultDelivery.ONLINE, internal), internal)
    assert code == (None if kind.files_internal_dossiers else "INTERNAL_PROCEDURE")


# --- 12. paper-free days: full-online procedures, chosen per agency ---------------------------------------


@pytest.mark.parametrize(
    ("day", "channel", "broken"),
    [
        (DAY, Channel.DIRECT, True),
        (DAY, Channel.POSTAL, True),
        (DAY, Channel.ONLINE, False),
        (DAY, Channel.ONLINE_ASSISTED, False),
        (date(2026, 11, 24), Channel.DIRECT, True),
        (date(2026, 11, 11), Channel.DIRECT, False),
        (date(2026, 11, 11), Channel.POSTAL, False),
        (date(2026, 11, 9), Channel.DIRECT, False),
        (date(2026, 11, 11), Channel.ONLINE, False),
    ],
    ids=[
        "listed-direct", "listed-postal", "listed-online", "listed-assisted", "other-listed-day-direct",
        "next-day-direct", "next-day-postal", "day-before-direct", "next-day-online",
    ],
)
def test_paper_free_day(day: date, channel: Channel, broken: bool) -> None:
    subject = facts(business_day=day, channel=channel, paper_free_days=PAPER_FREE)
    assert BY_CODE["PAPER_FREE_DAY"].broken_by(subject) is broken
    assert refusal("intake", subject) == ("PAPER_FREE_DAY" if broken else None)


@pytest.mark.parametrize("channel", list(Channel), ids=lambda channel: channel.value)
@pytest.mark.parametrize("form", list(OnlineForm), ids=lambda form: form.value)
def test_paper_free_days_apply_to_full_online_procedures_only(form: OnlineForm, channel: Channel) -> None:
    """On a paper-free day desks refuse paper dossiers of full-online procedures only (Bà Rịa–Vũng Tàu, 20 May 2022)."""
    subject = facts(online_form=form, channel=channel, paper_free_days=PAPER_FREE)
    broken = form is OnlineForm.FULL and channel in PAPER
    assert refusal("intake", subject) == ("PAPER_FREE_DAY" if broken else None)


@pytest.mark.parametrize("channel", list(Channel))
def test_no_paper_free_days_listed_means_paper_is_fine(channel: Channel) -> None:
    assert refusal("intake", facts(channel=channel)) is None


def test_paper_free_days_are_chosen_per_agency() -> None:
    """Each department and each commune picks its paper-free days and at least two full-online procedures it handles (Bà Rịa–Vũng Tàu, 20 May 2022)."""  # noqa: E501
    chosen = plan_paper_free_days(COMMUNE, [DAY, DAY], [DEATH, PROCEDURE, DEATH])
    assert chosen == PaperFreeDays(COMMUNE.code, frozenset({DAY}), frozenset({DEATH.code, PROCEDURE.code}))
    assert chosen.applied_to(DEATH).paper_free_days == {DAY}
    assert chosen.applied_to(PROCEDURE).paper_free_days == PAPER_FREE  # its own days and the agency's
    assert chosen.applied_to(PARTIAL) is PARTIAL  # not chosen
    cmd = submission(Channel.DIRECT, procedure=DEATH)
    assert refused_code(cmd, chosen.applied_to(DEATH)) == "PAPER_FREE_DAY"
    assert refused_code(cmd, DEATH) is None  # another agency's desk: no choice of its own, no paper-free day


@pytest.mark.parametrize(
    ("agency", "procedures", "code"),
    [
        (COMMUNE, [DEATH], "PAPER_FREE_TOO_FEW_PROCEDURES"),
        (COMMUNE, [DEATH, DEATH], "PAPER_FREE_TOO_FEW_PROCEDURES"),
        (COMMUNE, [DEATH, PARTIAL], "PAPER_FREE_NOT_FULL_ONLINE"),
        (COMMUNE, [DEATH, NOT_ONLINE], "PAPER_FREE_NOT_FULL_ONLINE"),
        (COMMUNE, [DEATH, PROVINCIAL], "PROCEDURE_NOT_AT_AGENCY"),
    ],
    ids=["one", "one-twice", "partial", "not-online", "elsewhere"],
)
def test_a_paper_free_choice_is_refused_unless_it_keeps_the_directive(
    agency: Agency, procedures: list[Procedure], code: str
) -> None:
    with pytest.raises(RuleViolationError) as caught:
        plan_paper_free_days(agency, [DAY], procedures)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("channel", "day", "code"),
    [
        (Channel.DIRECT, DAY, "PAPER_FREE_DAY"),
        (Channel.POSTAL, DAY, "PAPER_FREE_DAY"),
        (Channel.ONLINE, DAY, None),
        (Channel.ONLINE_ASSISTED, DAY, None),
        (Channel.DIRECT, date(2026, 11, 11), None),
    ],
    ids=["direct", "postal", "online", "assisted", "direct-other-day"],
)
def test_check_admissible_refuses_paper_on_a_paper_free_day(channel: Channel, day: date, code: str | None) -> None:
    assert refused_code(submission(channel), PROCEDURE, day) == code


# --- 13. each directive in force from its source's date, within its range -------------------------------

EFFECTIVE = {
    "INTERNAL_DOSSIER_MUST_BE_ONLINE": date(2021, 9, 13),
    "INTERNAL_RESULT_MUST_BE_ONLINE": date(2021, 9, 13),
    "INTERNAL_RESULT_RETURNED_ONLINE": date(2021, 9, 13),
    "PAPER_FREE_DAY": date(2022, 5, 20),
    "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT": date(2023, 10, 19),
}


@pytest.mark.parametrize(("code", "starts"), list(EFFECTIVE.items()), ids=list(EFFECTIVE))
def test_each_directive_carries_its_sources_effective_date(code: str, starts: date) -> None:
    """Each directive is in force from its source's date: Quảng Nam 13 Sep 2021, Bà Rịa–Vũng Tàu 20 May 2022, decision 2647 19 Oct 2023."""  # noqa: E501
    directive = BY_CODE[code]
    assert directive.starts == directive.source.effective_from == starts
    assert not directive.in_force(starts - timedelta(days=1)) and directive.in_force(starts)
    assert directive.in_force(date(2099, 1, 1))  # open-ended: no source gives an end


def test_the_sources_are_the_three_seeds() -> None:
    assert [(s.effective_from, s) for s in SOURCES] == [
        (date(2021, 9, 13), QUANG_NAM_2021), (date(2022, 5, 20), BA_RIA_VUNG_TAU_2022),
        (date(2023, 10, 19), DECISION_2647_2023),
    ]
    assert "2647" in DECISION_2647_2023.title and "Quảng Nam" in QUANG_NAM_2021.title
    assert "Bà Rịa–Vũng Tàu" in BA_RIA_VUNG_TAU_2022.title


@pytest.mark.parametrize(("day", "refused"), [(date(2022, 5, 19), False), (date(2022, 5, 20), True)])
def test_paper_free_days_start_with_their_directive(day: date, refused: bool) -> None:
    subject = facts(business_day=day, channel=Channel.DIRECT, paper_free_days=frozenset({day}))
    assert refusal("intake", subject) == ("PAPER_FREE_DAY" if refused else None)


# --- enforce ---------------------------------------------------------------------------------------------

BREAKS_INTAKE = facts(
    channel=Channel.DIRECT, applicant_kind=ApplicantKind.STATE_BODY, procedure_internal=True, paper_free_days=PAPER_FREE,
)
BREAKS_RETURN = facts(returned_via=ResultDelivery.POST, fees_total=10000)


def test_enforce_applies_only_the_rules_of_its_stage() -> None:
    assert refusal("intake", BREAKS_RETURN) is None
    assert refusal("return", BREAKS_INTAKE) is None
    assert refusal("return", BREAKS_RETURN) == "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"
    assert refusal("unknown-stage", BREAKS_INTAKE) is None


def test_enforce_raises_the_first_broken_directive_in_table_order() -> None:
    assert BY_CODE["PAPER_FREE_DAY"].broken_by(BREAKS_INTAKE)
    assert refusal("intake", BREAKS_INTAKE) == "INTERNAL_DOSSIER_MUST_BE_ONLINE"


def test_the_raised_error_carries_the_directives_code_and_message() -> None:
    for directive, subject in ((BY_CODE["PAPER_FREE_DAY"], facts(channel=Channel.POSTAL, paper_free_days=PAPER_FREE)),
                               (BY_CODE["POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"], BREAKS_RETURN)):
        with pytest.raises(RuleViolationError) as caught:
            enforce(directive.stage, subject)
        assert caught.value.code == directive.code
        assert caught.value.message == directive.message
        assert str(caught.value) == directive.message


def test_enforce_with_no_directives_lets_everything_through() -> None:
    assert refusal("intake", BREAKS_INTAKE, ()) is None


PILOT_2026 = Source("Thí điểm 2026 (a 2026 pilot)", date(2026, 11, 1), until=date(2026, 12, 31))
NOVEMBER_ONLY = Directive(
    code="NOVEMBER_PILOT", stage="intake", message="Thí điểm tháng 11. (November pilot.)",
    broken_by=lambda f: f.channel is Channel.DIRECT, source=PILOT_2026, effective_to=date(2026, 11, 30),
)
FROM_NOVEMBER = Directive(
    code="FROM_NOVEMBER", stage="intake", message="Từ tháng 11. (From November.)",
    broken_by=lambda f: f.channel is Channel.DIRECT, source=dataclasses.replace(PILOT_2026, until=None),
)
LATER_IN_THE_PILOT = Directive(
    code="LATER", stage="intake", message="Từ 15/11. (From 15 November.)",
    broken_by=lambda f: f.channel is Channel.DIRECT, source=PILOT_2026, effective_from=date(2026, 11, 15),
)


@pytest.mark.parametrize(
    ("directive", "day", "in_force"),
    [
        (NOVEMBER_ONLY, date(2026, 10, 31), False),
        (NOVEMBER_ONLY, date(2026, 11, 1), True),
        (NOVEMBER_ONLY, date(2026, 11, 15), True),
        (NOVEMBER_ONLY, date(2026, 11, 30), True),
        (NOVEMBER_ONLY, date(2026, 12, 1), False),
        (FROM_NOVEMBER, date(2026, 10, 31), False),
        (FROM_NOVEMBER, date(2026, 11, 1), True),
        (FROM_NOVEMBER, date(2099, 1, 1), True),
        (LATER_IN_THE_PILOT, date(2026, 11, 14), False),
        (LATER_IN_THE_PILOT, date(2026, 12, 31), True),
        (LATER_IN_THE_PILOT, date(2027, 1, 1), False),
    ],
    ids=[
        "day-before", "first-day", "middle", "last-day", "day-after", "open-ended-day-before", "open-ended-first-day",
        "open-ended-far-future", "row-starts-later", "source-last-day", "source-ended",
    ],
)
def test_a_directive_is_in_force_only_within_its_range(directive: Directive, day: date, in_force: bool) -> None:
    """A directive is data with a date range, its source's unless the row narrows it, and is enforced only within it (issue 8)."""
    assert directive.in_force(day) is in_force
    subject = facts(business_day=day, channel=Channel.DIRECT)
    assert refusal("intake", subject, (directive,)) == (directive.code if in_force else None)
    assert refusal("intake", facts(business_day=day, channel=Channel.ONLINE), (directive,)) is None  # in force, not broken


def test_targets_are_data_with_date_ranges() -> None:
    """Targets are data with their source and range: decision 2647 (19 Oct 2023) asks 50% of dossiers and 80% of procedures online."""  # noqa: E501
    before = targets_in_force(date(2023, 10, 18))
    assert set(before) == {"internal_dossiers_online"} and before["internal_dossiers_online"].percent == 100
    after = targets_in_force(date(2023, 10, 19))
    assert {key: target.percent for key, target in after.items()} == {
        "internal_dossiers_online": 100, "dossiers_filed_online": 50, "procedures_offered_online": 80,
        "payments_online": 30, "fee_procedures_payable_online": 60, "procedures_with_an_online_payment": 50,
        "dossiers_paid_online": 30,
    }
    assert after["dossiers_filed_online"].source is DECISION_2647_2023
    assert targets_in_force(date(2021, 9, 12)) == {}
    raised = Target("dossiers_filed_online", 70, source=PILOT_2026)  # a later row for the same figure wins in its range
    rows = (after["dossiers_filed_online"], raised)
    assert targets_in_force(date(2026, 11, 2), rows)["dossiers_filed_online"] is raised
    assert targets_in_force(date(2027, 1, 1), rows)["dossiers_filed_online"].percent == 50


# --- counting: what each lifecycle event moves -----------------------------------------------------------


_EVENT_IDS = itertools.count(1)


def changed(event_type: str, *, on_time: bool | None = None, channel: str = "online", **attributes: Any) -> DossierChanged:
    """A distinct event each time: the fold counts an event id once."""
    return samples.changed(event_type, on_time=on_time, channel=channel, event_id=f"evt-{next(_EVENT_IDS)}", **attributes)


E = EventType
METRICS_TABLE = [
    (changed(E.DOSSIER_RECEIVED), ["received|channel=online"]),
    (changed(E.DOSSIER_RECEIVED, channel="postal"), ["received|channel=postal"]),
    (changed(E.DOSSIER_REFUSED_AT_DOOR, on_time=None, reason="x"), ["not_received"]),  # never received: not judged
    (changed(E.SUPPLEMENT_REQUESTED, missing="x", supplement_count=1), ["supplement_requested"]),
    (changed(E.SUPPLEMENT_RESUBMITTED), []),
    (changed(E.PROCESSING_STARTED), []),
    (changed(E.DOSSIER_TRANSFERRED, from_agency="T46.X02", to_agency="T46.X01"), ["transferred_in"]),
    (changed(E.FEES_REQUESTED, amount=10000), []),
    (changed(E.FEES_CONFIRMED), []),
    (changed(E.DOSSIER_APPROVED), []),
    (changed(E.DOSSIER_REFUSED, reason="x"), ["refused"]),  # a negative decision (its result is the written refusal)
    (changed(E.PROCESSING_STOPPED, on_time=False, reason="x"), ["stopped", "finished|on_time=false"]),
    # index 4.1 (electronic results) and 4.2 (results of dossiers whose every component is a file)
    (changed(E.RESULT_READY, on_time=True, electronic_result=True, digitised=True),
     ["processed", "finished|on_time=true", "result|electronic=true", "result_digitised"]),
    (changed(E.RESULT_READY, on_time=False, electronic_result=False, digitised=False),
     ["processed", "finished|on_time=false", "result|electronic=false"]),
    (changed(E.RESULT_RETURNED, via="post"), ["returned|via=post"]),
    (changed(E.APOLOGY_ISSUED, new_appointment_date="2026-11-20"), ["apologies"]),
    (changed(E.DOSSIER_WITHDRAWN, on_time=True, reason=None), ["withdrawn", "finished|on_time=true"]),
    (changed(E.DOSSIER_RATED, rating="unsatisfied"), ["rated|rating=unsatisfied"]),
    (changed(E.DOSSIER_DUE_SOON, due_at="2026-11-06T01:00:00.000Z"), []),
    (changed(E.DOSSIER_OVERDUE, due_at="2026-11-04T01:00:00.000Z"), []),
    (changed(E.PAYMENT_REQUESTED, gateway="paygov"), ["payment_requested|gateway=paygov"]),
    # a payment that took money, by how; the dossier's first online one counts it as paid online, once
    (changed(E.PAYMENT_SUCCEEDED, via="online", first_online_payment=True),
     ["payment|via=online", "dossier_paid_online", "paid_online|procedure=1.001193"]),
    (changed(E.PAYMENT_SUCCEEDED, via="online", first_online_payment=False),
     ["payment|via=online", "paid_online|procedure=1.001193"]),
    (changed(E.PAYMENT_FAILED, response_code="24"), []),
    (changed(E.DESK_PAYMENT_RECORDED, gateway="desk", via="desk", method="cash", first_online_payment=False),
     ["payment|via=desk"]),
    # the postal service: shipments asked for, delivered (late against J+n or not), failed, returned to sender
    (changed(E.SHIPMENT_REQUESTED, kind="pickup"), ["shipment_requested|kind=pickup"]),
    (changed(E.SHIPMENT_PICKED_UP, kind="pickup"), []),
    (changed(E.SHIPMENT_DELIVERED, kind="return", late=True), ["shipment_delivered|kind=return|late=true"]),
    (changed(E.SHIPMENT_FAILED, kind="return"), []),  # told, not counted: its count would depend on arrival order
    (changed(E.SHIPMENT_RETURNED, kind="pickup"), ["shipment_returned|kind=pickup"]),
]


@pytest.mark.parametrize(
    ("event", "metrics"), METRICS_TABLE, ids=[f"{i:02d}-{e.event_type}" for i, (e, _) in enumerate(METRICS_TABLE)],
)
def test_metrics_of(event: DossierChanged, metrics: list[str]) -> None:
    assert [str(metric) for metric in metrics_of(event)] == metrics


def test_every_change_event_type_is_in_the_metrics_table() -> None:
    assert {event.event_type for event, _ in METRICS_TABLE} == {spec.name for spec in EVENTS} - {E.DOSSIER_SUBMITTED}


def test_a_submission_is_counted_as_filed() -> None:
    event = samples.submitted(channel="direct", form="partial")
    assert [str(metric) for metric in metrics_of(event)] == ["filed|applicant=citizen|channel=direct|form=partial"]


@pytest.mark.parametrize("kind", list(ApplicantKind), ids=lambda kind: kind.value)
def test_filed_counters_carry_the_applicant_kind(kind: ApplicantKind) -> None:
    """The filed counters carry the applicant kind, so "every internal dossier online" is a figure the report shows (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    event = dataclasses.replace(samples.submitted(channel="online", form="full"), applicant_kind=kind.value)
    assert [str(metric) for metric in metrics_of(event)] == [f"filed|applicant={kind.value}|channel=online|form=full",
                                                             "filed_online|procedure=1.001193"]


def test_the_report_counts_internal_dossiers_by_channel() -> None:
    """The report shows internal dossiers by channel and the share filed online, against the directive's 100% (Quảng Nam, 13 Sep 2021)."""  # noqa: E501
    def filed(n: int, kind: str, channel: str) -> list[Any]:
        return [dataclasses.replace(samples.submitted(f"evt-{kind}-{channel}-{i}", channel=channel), applicant_kind=kind)
                for i in range(n)]

    events = [*filed(3, "public_service_unit", "online"), *filed(1, "state_body", "online_assisted"),
              *filed(1, "state_owned_enterprise", "direct"), *filed(4, "citizen", "direct"), *filed(2, "business", "online")]
    stored = {str(key.metric): value for key, value in aggregate(events).items() if key.scope == agency_scope("T46.X01")}
    stored["filed|channel=postal|form=full"] = 5  # counted before the applicant label: in the totals, not the internal
    figures = filing_figures(stored)
    assert figures.total == 16
    assert figures.internal_by_channel == {"online": 3, "online_assisted": 1, "direct": 1, "postal": 0}
    share = figures.internal_online_share
    assert (share.numerator, share.denominator, share.percent) == (4, 5, 80.0)
    assert filing_figures({}).internal_online_share.percent is None


def metric_values(events: list[DossierChanged], agency: str = "T46.X01") -> dict[str, int]:
    """The counters of one agency for the month, keyed by metric as stored, as a report reads them."""
    return {str(key.metric): value for key, value in aggregate(events).items() if key.scope == agency_scope(agency)}


def test_lifecycle_figures_sum_the_counters_back() -> None:
    details = [
        changed(E.DOSSIER_RECEIVED), changed(E.DOSSIER_RECEIVED, channel="direct"), changed(E.DOSSIER_RECEIVED),
        changed(E.DOSSIER_REFUSED_AT_DOOR, on_time=True, reason="x"),
        changed(E.SUPPLEMENT_REQUESTED, missing="x", supplement_count=1),
        changed(E.RESULT_READY, on_time=True), changed(E.RESULT_READY, on_time=False),
        changed(E.PROCESSING_STOPPED, on_time=True, reason="x"),
        changed(E.DOSSIER_WITHDRAWN, on_time=False),
        changed(E.RESULT_RETURNED, via="post"), changed(E.RESULT_RETURNED, via="desk"),
        changed(E.APOLOGY_ISSUED, new_appointment_date="2026-11-20"),
        changed(E.DOSSIER_TRANSFERRED, from_agency="T46.X02", to_agency="T46.X01"),
        changed(E.DOSSIER_RATED, rating="satisfied"), changed(E.DOSSIER_RATED, rating="satisfied"),
        changed(E.DOSSIER_RATED, rating="unsatisfied"),
        changed(E.PROCESSING_STARTED), changed(E.DOSSIER_OVERDUE), changed(E.DOSSIER_DUE_SOON),
    ]
    figures = lifecycle_figures(metric_values(details))
    assert figures.counts == {
        "received": 3, "not_received": 1, "supplement_requested": 1, "processed": 2, "stopped": 1, "withdrawn": 1,
        "returned": 2, "apologies": 1, "transferred_in": 1, "rated_satisfied": 2, "rated_unsatisfied": 1,
        "finished_on_time": 3, "finished_late": 2, "refused": 0,
    }
    share = figures.finished_on_time_share
    assert (share.numerator, share.denominator, share.percent) == (3, 5, 60.0)


@pytest.mark.parametrize(
    ("on_time", "late", "percent"),
    [(1, 0, 100.0), (0, 1, 0.0), (2, 1, 66.67), (1, 2, 33.33), (0, 0, None)],
)
def test_on_time_share_percent(on_time: int, late: int, percent: float | None) -> None:
    metrics = {"finished|on_time=true": on_time, "finished|on_time=false": late}
    share = lifecycle_figures(metrics).finished_on_time_share
    assert (share.numerator, share.denominator, share.percent) == (on_time, on_time + late, percent)


def test_nothing_finished_has_no_on_time_share() -> None:
    figures = lifecycle_figures(metric_values([changed(E.DOSSIER_RECEIVED), changed(E.PROCESSING_STARTED)]))
    assert figures.counts["received"] == 1
    assert figures.finished_on_time_share.percent is None
    assert lifecycle_figures({}).finished_on_time_share.percent is None
    assert lifecycle_figures({}).counts == dict.fromkeys(LIFECYCLE_METRICS, 0)


def test_lifecycle_figures_ignore_filings_and_unknown_metrics() -> None:
    figures = lifecycle_figures({"filed|channel=online|form=full": 5, "something_else": 2, "rated|rating=meh": 1})
    assert figures.counts == dict.fromkeys(LIFECYCLE_METRICS, 0)
