"""The province's directives as truth tables, their date ranges, and the counters lifecycle events move."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from typing import Any

import pytest

from chalicelib.domain.catalogue import Agency, DocumentType, Procedure
from chalicelib.domain.counting import agency_scope, aggregate, metrics_of
from chalicelib.domain.directives import DIRECTIVES, Directive, Facts, enforce
from chalicelib.domain.dossier import Applicant, Document, SubmitDossier, check_admissible
from chalicelib.domain.errors import RuleViolationError
from chalicelib.domain.events import EVENTS, DossierChanged
from chalicelib.domain.kpi import LIFECYCLE_METRICS, lifecycle_figures
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, Channel, OnlineForm, ResultDelivery
from chalicelib.topology import EventType
from tests import samples

DAY = date(2026, 11, 10)  # a Tuesday
PAPER_FREE = frozenset({DAY, date(2026, 11, 24)})
BY_CODE = {directive.code: directive for directive in DIRECTIVES}


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


def test_directive_codes_are_unique_and_each_has_a_message_and_a_stage() -> None:
    assert len(BY_CODE) == len(DIRECTIVES)
    assert set(BY_CODE) == {"STATE_BODY_MUST_FILE_ONLINE", "PAPER_FREE_DAY", "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"}
    for directive in DIRECTIVES:
        assert directive.message.strip()
        assert directive.stage in ("intake", "return")


# --- STATE_BODY_MUST_FILE_ONLINE -------------------------------------------------------------------------

STATE_BODY_TABLE = [
    pytest.param(
        kind, internal, form, channel,
        # the directive, said plainly: a state body filing an internal procedure that is offered online must file online
        kind is ApplicantKind.STATE_BODY and internal and form is not OnlineForm.NONE and not channel.is_online,
        id=f"{kind.value}-{'internal' if internal else 'public'}-{form.value}-{channel.value}",
    )
    for kind, internal, form, channel in itertools.product(ApplicantKind, (True, False), OnlineForm, Channel)
]


@pytest.mark.parametrize(("kind", "internal", "form", "channel", "broken"), STATE_BODY_TABLE)
def test_state_body_must_file_online(
    kind: ApplicantKind, internal: bool, form: OnlineForm, channel: Channel, broken: bool
) -> None:
    subject = facts(applicant_kind=kind, procedure_internal=internal, online_form=form, channel=channel)
    assert BY_CODE["STATE_BODY_MUST_FILE_ONLINE"].broken_by(subject) is broken
    assert refusal("intake", subject) == ("STATE_BODY_MUST_FILE_ONLINE" if broken else None)


def test_state_body_table_has_refusals_and_passes() -> None:
    outcomes = Counter(case.values[-1] for case in STATE_BODY_TABLE)
    assert outcomes == {True: 4, False: len(STATE_BODY_TABLE) - 4}  # {full, partial} × {direct, postal}


# --- PAPER_FREE_DAY --------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("channel", list(Channel))
def test_no_paper_free_days_listed_means_paper_is_fine(channel: Channel) -> None:
    assert refusal("intake", facts(channel=channel)) is None


# --- POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT ---------------------------------------------------------------

PAYMENTS = [(10000, 0), (10000, 9999), (10000, 10000), (10000, 12000), (0, 0)]
POSTAL_TABLE = [
    pytest.param(
        via, form, fees, paid,
        via is ResultDelivery.POST and form is OnlineForm.FULL and paid < fees,
        id=f"{via.value if via else 'none'}-{form.value}-fees{fees}-paid{paid}",
    )
    for via, form, (fees, paid) in itertools.product((*ResultDelivery, None), OnlineForm, PAYMENTS)
]


@pytest.mark.parametrize(("via", "form", "fees", "paid", "broken"), POSTAL_TABLE)
def test_postal_result_requires_online_payment(
    via: ResultDelivery | None, form: OnlineForm, fees: int, paid: int, broken: bool
) -> None:
    subject = facts(returned_via=via, online_form=form, fees_total=fees, paid_online_total=paid)
    assert BY_CODE["POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"].broken_by(subject) is broken
    assert refusal("return", subject) == ("POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT" if broken else None)


def test_postal_table_refuses_exactly_the_unpaid_full_online_posts() -> None:
    refused = sorted(case.id for case in POSTAL_TABLE if case.values[-1])
    assert refused == ["post-full-fees10000-paid0", "post-full-fees10000-paid9999"]


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
    assert refusal("intake", BREAKS_INTAKE) == "STATE_BODY_MUST_FILE_ONLINE"


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


NOVEMBER_ONLY = Directive(
    code="NOVEMBER_PILOT", stage="intake", message="Thí điểm tháng 11. (November pilot.)",
    broken_by=lambda f: f.channel is Channel.DIRECT,
    effective_from=date(2026, 11, 1), effective_to=date(2026, 11, 30),
)
FROM_NOVEMBER = Directive(
    code="FROM_NOVEMBER", stage="intake", message="Từ tháng 11. (From November.)",
    broken_by=lambda f: f.channel is Channel.DIRECT, effective_from=date(2026, 11, 1),
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
    ],
    ids=[
        "day-before", "first-day", "middle", "last-day", "day-after", "open-ended-day-before", "open-ended-first-day",
        "open-ended-far-future",
    ],
)
def test_enforce_only_when_in_force(directive: Directive, day: date, in_force: bool) -> None:
    assert directive.in_force(day) is in_force
    subject = facts(business_day=day, channel=Channel.DIRECT)
    assert refusal("intake", subject, (directive,)) == (directive.code if in_force else None)
    assert refusal("intake", facts(business_day=day, channel=Channel.ONLINE), (directive,)) is None  # in force, not broken


@pytest.mark.parametrize(("day", "refused"), [(date(2023, 9, 30), False), (date(2023, 10, 1), True)])
def test_the_provinces_directives_start_with_its_october_2023_decision(day: date, refused: bool) -> None:
    subject = facts(business_day=day, channel=Channel.DIRECT, paper_free_days=frozenset({day}))
    assert refusal("intake", subject) == ("PAPER_FREE_DAY" if refused else None)


# --- check_admissible and paper-free days ----------------------------------------------------------------

COMMUNE = Agency(code="T46.X01", name="UBND xã Phú Lộc", level=AgencyLevel.COMMUNE, kind="commune", path=("T46", "T46.X01"))
PROCEDURE = Procedure(
    code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=(), processing_days=3,
    required_documents=(DocumentType("id_card", "Căn cước công dân"),), postal_result=True, paper_free_days=PAPER_FREE,
)


def submission(channel: Channel) -> SubmitDossier:
    return SubmitDossier(
        owner_id="user-1", procedure_code=PROCEDURE.code, agency_code=COMMUNE.code, channel=channel,
        applicant=Applicant(ApplicantKind.CITIZEN, "Nguyễn Văn An", "046123456789", "0912345678"),
        documents=(Document("id_card", "cccd.pdf"),), result_delivery=ResultDelivery.DESK,
    )


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
    if code is None:
        check_admissible(submission(channel), PROCEDURE, COMMUNE, day)
        return
    with pytest.raises(RuleViolationError) as caught:
        check_admissible(submission(channel), PROCEDURE, COMMUNE, day)
    assert caught.value.code == code


# --- counting: what each lifecycle event moves -----------------------------------------------------------


_EVENT_IDS = itertools.count(1)


def changed(event_type: str, *, on_time: bool | None = None, channel: str = "online", **attributes: Any) -> DossierChanged:
    """A distinct event each time: the fold counts an event id once."""
    return samples.changed(event_type, on_time=on_time, channel=channel, event_id=f"evt-{next(_EVENT_IDS)}", **attributes)


E = EventType
METRICS_TABLE = [
    (changed(E.DOSSIER_RECEIVED), ["received|channel=online"]),
    (changed(E.DOSSIER_RECEIVED, channel="postal"), ["received|channel=postal"]),
    (changed(E.DOSSIER_REFUSED_AT_DOOR, on_time=True, reason="x"), ["not_received", "finished|on_time=true"]),
    (changed(E.SUPPLEMENT_REQUESTED, missing="x", supplement_count=1), ["supplement_requested"]),
    (changed(E.SUPPLEMENT_RESUBMITTED), []),
    (changed(E.PROCESSING_STARTED), []),
    (changed(E.DOSSIER_TRANSFERRED, from_agency="T46.X02", to_agency="T46.X01"), ["transferred_in"]),
    (changed(E.FEES_REQUESTED, amount=10000), []),
    (changed(E.FEES_CONFIRMED), []),
    (changed(E.DOSSIER_APPROVED), []),
    (changed(E.PROCESSING_STOPPED, on_time=False, reason="x"), ["stopped", "finished|on_time=false"]),
    (changed(E.RESULT_READY, on_time=True, electronic_result=True), ["processed", "finished|on_time=true"]),
    (changed(E.RESULT_READY, on_time=False, electronic_result=False), ["processed", "finished|on_time=false"]),
    (changed(E.RESULT_RETURNED, via="post"), ["returned|via=post"]),
    (changed(E.APOLOGY_ISSUED, new_appointment_date="2026-11-20"), ["apologies"]),
    (changed(E.DOSSIER_WITHDRAWN, on_time=True, reason=None), ["withdrawn", "finished|on_time=true"]),
    (changed(E.DOSSIER_RATED, rating="unsatisfied"), ["rated|rating=unsatisfied"]),
    (changed(E.DOSSIER_DUE_SOON, due_at="2026-11-06T01:00:00.000Z"), []),
    (changed(E.DOSSIER_OVERDUE, due_at="2026-11-04T01:00:00.000Z"), []),
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
    assert [str(metric) for metric in metrics_of(event)] == ["filed|channel=direct|form=partial"]


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
        "finished_on_time": 3, "finished_late": 2,
    }
    share = figures.on_time_share
    assert (share.numerator, share.denominator, share.percent) == (3, 5, 60.0)


@pytest.mark.parametrize(
    ("on_time", "late", "percent"),
    [(1, 0, 100.0), (0, 1, 0.0), (2, 1, 66.67), (1, 2, 33.33), (0, 0, None)],
)
def test_on_time_share_percent(on_time: int, late: int, percent: float | None) -> None:
    metrics = {"finished|on_time=true": on_time, "finished|on_time=false": late}
    share = lifecycle_figures(metrics).on_time_share
    assert (share.numerator, share.denominator, share.percent) == (on_time, on_time + late, percent)


def test_nothing_finished_has_no_on_time_share() -> None:
    figures = lifecycle_figures(metric_values([changed(E.DOSSIER_RECEIVED), changed(E.PROCESSING_STARTED)]))
    assert figures.counts["received"] == 1
    assert figures.on_time_share.percent is None
    assert lifecycle_figures({}).on_time_share.percent is None
    assert lifecycle_figures({}).counts == dict.fromkeys(LIFECYCLE_METRICS, 0)


def test_lifecycle_figures_ignore_filings_and_unknown_metrics() -> None:
    figures = lifecycle_figures({"filed|channel=online|form=full": 5, "something_else": 2, "rated|rating=meh": 1})
    assert figures.counts == dict.fromkeys(LIFECYCLE_METRICS, 0)
