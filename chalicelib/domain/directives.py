"""The province's directives as data-driven checks, each with its own error code.

A rule is data: where it applies (`stage`), whether it is in force on a date (`in_force`), and a predicate over
the facts of the moment. Adding a directive means adding a row, not a branch in a use case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .errors import RuleViolationError
from .vocabulary import ApplicantKind, Channel, OnlineForm, ResultDelivery


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


@dataclass(frozen=True)
class Directive:
    code: str
    stage: str  # "intake" (a dossier arrives) or "return" (a result goes out)
    message: str
    broken_by: Callable[[Facts], bool]
    effective_from: date = date(2023, 10, 1)
    effective_to: date | None = None

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _paper(facts: Facts) -> bool:
    return facts.channel in (Channel.DIRECT, Channel.POSTAL)


DIRECTIVES: tuple[Directive, ...] = (
    Directive(
        code="STATE_BODY_MUST_FILE_ONLINE",
        stage="intake",
        message=(
            "Cơ quan nhà nước phải nộp hồ sơ thủ tục nội bộ này trực tuyến trên Cổng dịch vụ công; bộ phận một cửa "
            "không tiếp nhận hồ sơ giấy. (State bodies must file this internal procedure online through the portal.)"
        ),
        broken_by=lambda f: f.applicant_kind == ApplicantKind.STATE_BODY
        and f.procedure_internal
        and f.online_form != OnlineForm.NONE
        and _paper(f),
    ),
    Directive(
        code="PAPER_FREE_DAY",
        stage="intake",
        message=(
            "Hôm nay là ngày không tiếp nhận hồ sơ giấy đối với thủ tục này; vui lòng nộp trực tuyến. "
            "(Today is a paper-free day for this procedure: please file online.)"
        ),
        broken_by=lambda f: _paper(f) and f.business_day in f.paper_free_days,
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
    ),
)


def enforce(stage: str, facts: Facts, directives: tuple[Directive, ...] = DIRECTIVES) -> None:
    """Raise the first directive in force at `stage` that the facts break."""
    for directive in directives:
        if directive.stage == stage and directive.in_force(facts.business_day) and directive.broken_by(facts):
            raise RuleViolationError(directive.message, code=directive.code)
