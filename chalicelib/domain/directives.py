"""The province's directives and targets as data: each rule with its own error code, its source and its date range.

A rule is data: where it applies (`stage`), the instrument it comes from (`source`), the days it is in force (its
source's range unless the row narrows it) and a predicate over the facts of the moment. Adding a directive means
adding a row, not a branch in a use case. Targets are rows too, each with its source and range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

from .catalogue import Agency, Procedure
from .errors import RuleViolationError
from .vocabulary import ApplicantKind, Channel, OnlineForm, ResultDelivery


@dataclass(frozen=True)
class Source:
    """The instrument a directive or a target comes from, and the days it is in force (open-ended: `until` None)."""

    title: str
    effective_from: date
    until: date | None = None


# The seeds of the rule set, with the dates issue 8 gives them. Which rule comes from which seed is read from the
# issue and the domain notes: the internal-dossier rules from Quảng Nam, the paper-free days from Bà Rịa–Vũng Tàu
# (decision 2647 restates both), the paid-online postal result and the online targets from decision 2647.
BA_RIA_VUNG_TAU_2022 = Source("UBND tỉnh Bà Rịa–Vũng Tàu, văn bản ngày 20/5/2022 (20 May 2022)", date(2022, 5, 20))
QUANG_NAM_2021 = Source(
    "UBND tỉnh Quảng Nam, văn bản ngày 13/9/2021, as its 2022 directive cites it (13 Sep 2021)", date(2021, 9, 13),
)
DECISION_2647_2023 = Source(
    "Quyết định 2647/QĐ-UBND ngày 19/10/2023 của Chủ tịch UBND tỉnh (decision 2647, 19 Oct 2023)", date(2023, 10, 19),
)
SOURCES: tuple[Source, ...] = (QUANG_NAM_2021, BA_RIA_VUNG_TAU_2022, DECISION_2647_2023)


@dataclass(frozen=True, kw_only=True)
class _Ranged:
    """In force over its source's range, unless the row narrows it."""

    source: Source
    effective_from: date | None = None  # None: from its source's date
    effective_to: date | None = None  # None: as long as its source

    @property
    def starts(self) -> date:
        return self.effective_from or self.source.effective_from

    @property
    def ends(self) -> date | None:
        return self.effective_to or self.source.until

    def in_force(self, day: date) -> bool:
        return self.starts <= day and (self.ends is None or day <= self.ends)


@dataclass(frozen=True)
class Facts:
    """What a directive may look at."""

    business_day: date
    channel: Channel
    applicant_kind: ApplicantKind
    procedure_internal: bool
    online_form: OnlineForm
    paper_free_days: frozenset[date] = frozenset()
    returned_via: ResultDelivery | None = None
    fees_total: int = 0
    paid_online_total: int = 0
    result_delivery: ResultDelivery | None = None  # what the applicant asked for at intake


@dataclass(frozen=True)
class Directive(_Ranged):
    code: str
    stage: str  # "intake" (a dossier arrives) or "return" (a result goes out)
    message: str
    broken_by: Callable[[Facts], bool]


def _paper(facts: Facts) -> bool:
    return facts.channel in (Channel.DIRECT, Channel.POSTAL)


def _internal_and_online(facts: Facts) -> bool:
    """Filed by an internal filer for a procedure offered online, fully or partly (whether flagged internal or not)."""
    return facts.applicant_kind.files_internal_dossiers and facts.online_form != OnlineForm.NONE


DIRECTIVES: tuple[Directive, ...] = (
    Directive(
        code="INTERNAL_DOSSIER_MUST_BE_ONLINE",
        stage="intake",
        message=(
            "Cơ quan hành chính, đơn vị sự nghiệp công lập, tổ chức chính trị - xã hội và doanh nghiệp nhà nước phải nộp "
            "hồ sơ thủ tục có dịch vụ công trực tuyến qua Cổng dịch vụ công; bộ phận một cửa không tiếp nhận hồ sơ giấy. "
            "(Internal dossiers of a procedure offered online are filed online: the desk refuses paper.)"
        ),
        broken_by=lambda f: _internal_and_online(f) and _paper(f),
        source=QUANG_NAM_2021,
    ),
    Directive(
        code="INTERNAL_RESULT_MUST_BE_ONLINE",
        stage="intake",
        message=(
            "Hồ sơ nội bộ của thủ tục có dịch vụ công trực tuyến nhận kết quả trực tuyến. "
            "(An internal dossier of a procedure offered online receives its result online.)"
        ),
        broken_by=lambda f: _internal_and_online(f) and f.result_delivery not in (None, ResultDelivery.ONLINE),
        source=QUANG_NAM_2021,
    ),
    Directive(
        code="INTERNAL_RESULT_RETURNED_ONLINE",
        stage="return",
        message=(
            "Kết quả hồ sơ nội bộ được trả trực tuyến. (The result of an internal dossier is returned online.)"
        ),
        broken_by=lambda f: _internal_and_online(f) and f.returned_via not in (None, ResultDelivery.ONLINE),
        source=QUANG_NAM_2021,
    ),
    Directive(
        code="PAPER_FREE_DAY",
        stage="intake",
        message=(
            "Hôm nay là ngày không tiếp nhận hồ sơ giấy đối với thủ tục toàn trình này; vui lòng nộp trực tuyến. "
            "(Today is a paper-free day for this full-online procedure: please file online.)"
        ),
        broken_by=lambda f: f.online_form == OnlineForm.FULL and _paper(f) and f.business_day in f.paper_free_days,
        source=BA_RIA_VUNG_TAU_2022,
    ),
    Directive(
        code="POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT",
        stage="return",
        message=(
            "Kết quả thủ tục toàn trình chỉ được gửi qua bưu chính khi phí, lệ phí đã thanh toán trực tuyến. "
            "(A full-online result goes by post only once its fees are paid online.)"
        ),
        broken_by=lambda f: f.returned_via == ResultDelivery.POST
        and f.online_form == OnlineForm.FULL
        and f.paid_online_total < f.fees_total,
        source=DECISION_2647_2023,
    ),
)


def enforce(stage: str, facts: Facts, directives: tuple[Directive, ...] = DIRECTIVES) -> None:
    """Raise the first directive in force at `stage` that the facts break."""
    for directive in directives:
        if directive.stage == stage and directive.in_force(facts.business_day) and directive.broken_by(facts):
            raise RuleViolationError(directive.message, code=directive.code)


# --- paper-free days, chosen per agency ------------------------------------------------------------------------

MIN_PAPER_FREE_PROCEDURES = 2
"""Each department and each commune picks at least two full-online procedures for its paper-free days."""


@dataclass(frozen=True)
class PaperFreeDays:
    """An agency's pilot paper-free days: on each of `days` its desks refuse paper for each of `procedures`."""

    agency_code: str
    days: frozenset[date]
    procedures: frozenset[str]

    def applied_to(self, procedure: Procedure) -> Procedure:
        """The procedure as this agency offers it: its own pilot days plus the agency's, if the agency chose it."""
        if procedure.code not in self.procedures:
            return procedure
        return replace(procedure, paper_free_days=procedure.paper_free_days | self.days)


def plan_paper_free_days(agency: Agency, days: Iterable[date], procedures: Iterable[Procedure]) -> PaperFreeDays:
    """An agency's choice, checked: at least two procedures, each full online and handled by the agency."""
    chosen = {procedure.code: procedure for procedure in procedures}
    if len(chosen) < MIN_PAPER_FREE_PROCEDURES:
        raise RuleViolationError(
            f"Mỗi cơ quan chọn ít nhất {MIN_PAPER_FREE_PROCEDURES} thủ tục cho ngày không hồ sơ giấy. "
            f"(Choose at least {MIN_PAPER_FREE_PROCEDURES} procedures.)",
            code="PAPER_FREE_TOO_FEW_PROCEDURES",
        )
    not_full = sorted(code for code, procedure in chosen.items() if procedure.online_form != OnlineForm.FULL)
    if not_full:
        raise RuleViolationError(
            "Ngày không hồ sơ giấy chỉ áp dụng cho thủ tục toàn trình. (Paper-free days apply to full-online "
            "procedures only.)",
            code="PAPER_FREE_NOT_FULL_ONLINE", details={"procedure_codes": not_full},
        )
    elsewhere = sorted(code for code, procedure in chosen.items() if not procedure.is_offered_at(agency))
    if elsewhere:
        raise RuleViolationError(
            f"Thủ tục không được giải quyết tại {agency.name}. (Procedures not handled by agency {agency.code}.)",
            code="PROCEDURE_NOT_AT_AGENCY", details={"procedure_codes": elsewhere},
        )
    return PaperFreeDays(agency.code, frozenset(days), frozenset(chosen))


# --- targets ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target(_Ranged):
    """A figure the province holds itself to: `key` names the figure, `percent` its minimum."""

    key: str
    percent: int


TARGETS: tuple[Target, ...] = (
    Target("internal_dossiers_online", 100, source=QUANG_NAM_2021),
    Target("dossiers_filed_online", 50, source=DECISION_2647_2023),
    Target("procedures_offered_online", 80, source=DECISION_2647_2023),
    Target("payments_online", 30, source=DECISION_2647_2023),
    Target("fee_procedures_payable_online", 60, source=DECISION_2647_2023),
    Target("procedures_with_an_online_payment", 50, source=DECISION_2647_2023),
    Target("dossiers_paid_online", 30, source=DECISION_2647_2023),
)


def targets_in_force(day: date, targets: tuple[Target, ...] = TARGETS) -> dict[str, Target]:
    """The targets in force on `day` by key; where ranges overlap, the row that started last wins."""
    in_force = sorted((t for t in targets if t.in_force(day)), key=lambda t: t.starts)
    return {target.key: target for target in in_force}
