"""The national service-quality index (Decision 766/QĐ-TTg, 100 points): the items computable from our own data,
each with the index's definition and scoring, and the items we cannot compute with the data they lack.

Definitions and scoring follow the index's formula document as transcribed in the public repository ChippedTopaz/qd766
(`web/src/formula-document.ts`, from "Mô tả công thức tính chỉ số 766.docx", SHA-256 41A27E55…; point allocations in
`web/src/formula-maximums.ts`) and ../shared/DOMAIN.md. Where the document gives a threshold ("Đạt từ 80% trở lên sẽ
đạt điểm tối đa. Dưới 80% tính theo công thức: Tỷ lệ * Điểm tối đa / 80%"), the item is thresholded; where it gives
none, the item is linear (ratio × points, 100% for full points), as DOMAIN.md says of 2.1 and 3.6.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .catalogue import Agency, Procedure
from .kpi import (
    OnTimeFigures,
    PaymentFigures,
    Ratio,
    distinct_procedures,
    filing_figures,
    lifecycle_figures,
    parsed,
)
from .metrics import FILED, FILED_ONLINE_PROCEDURE, RESULT, RESULT_DIGITISED
from .vocabulary import OnlineForm


class Group(StrEnum):
    TRANSPARENCY = "transparency"  # 1. công khai, minh bạch
    PROGRESS = "progress"  # 2. tiến độ, kết quả giải quyết
    ONLINE = "online"  # 3. cung cấp dịch vụ trực tuyến
    PAYMENT = "payment"  # thanh toán trực tuyến (3.5, 3.5b, 3.6)
    DIGITISATION = "digitisation"  # 4. số hóa hồ sơ
    SATISFACTION = "satisfaction"  # 5. mức độ hài lòng


GROUP_POINTS: dict[Group, int] = {Group.TRANSPARENCY: 18, Group.PROGRESS: 20, Group.ONLINE: 12, Group.PAYMENT: 10,
                                  Group.DIGITISATION: 22, Group.SATISFACTION: 18}
"""The index's groups and their points (DOMAIN.md: 18 + 20 + 12 + 10 + 22 + 18 = 100)."""


@dataclass(frozen=True)
class Scoring:
    points: int | None  # None: reported, no points of its own
    threshold_percent: float = 100.0  # full points at or above; linear below (100: linear all the way)

    def score(self, ratio: Ratio) -> float | None:
        """Points earned: full at the threshold, else ratio × points / threshold; None when nothing to divide by."""
        if self.points is None or ratio.percent is None:
            return None
        percent = 100 * ratio.numerator / ratio.denominator
        return round(self.points * min(percent / self.threshold_percent, 1.0), 2)


@dataclass(frozen=True)
class ItemResult:
    id: str
    title: str
    group: Group
    scoring: Scoring
    ratio: Ratio

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "group": self.group.value, "points": self.scoring.points,
                "threshold_percent": self.scoring.threshold_percent, **self.ratio.as_dict(),
                "score": self.scoring.score(self.ratio)}


@dataclass(frozen=True)
class Uncomputable:
    id: str
    title: str
    group: Group
    points: int | None
    lacking: str  # the data the item needs that this system does not hold

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "group": self.group.value, "points": self.points,
                "lacking": self.lacking}


UNCOMPUTABLE: tuple[Uncomputable, ...] = (
    Uncomputable("1.1", "TTHC công bố đúng hạn", Group.TRANSPARENCY, 6,
                 "decisions publishing procedures and their legal bases' effective dates (national procedure database)"),
    Uncomputable("1.2", "TTHC cập nhật, công khai đúng hạn", Group.TRANSPARENCY, 4,
                 "publication dates on the national procedure database"),
    Uncomputable("1.3", "TTHC công khai đầy đủ nội dung", Group.TRANSPARENCY, 2,
                 "the national procedure database's published components of each procedure"),
    Uncomputable("1.4", "Hồ sơ đồng bộ lên Cổng DVCQG", Group.TRANSPARENCY, 6,
                 "synchronisation with the national portal (not built: no national portal connection)"),
    Uncomputable("2.2", "Thời gian giải quyết TTHC trung bình", Group.PROGRESS, None,
                 "shown per procedure only; no points (durations are in the dossiers, not yet in counters)"),
    Uncomputable("3.1", "TTHC cung cấp dịch vụ công trực tuyến", Group.ONLINE, None,
                 "procedures in the province's competence (the national database's list); our catalogue is a sample"),
    Uncomputable("4.3", "Hồ sơ khai thác, sử dụng lại dữ liệu số hóa", Group.DIGITISATION, 2,
                 "components marked as reused from digitised data (DuocSoHoa): not captured at submission"),
    Uncomputable("4.4", "Hồ sơ số hóa kết nối, chia sẻ để tái sử dụng", Group.DIGITISATION, 4,
                 "components taken from the national portal's personal data store (DuocLayTuKhoDMQG)"),
    Uncomputable("4.5a", "TTHC kết nối, chia sẻ dữ liệu dân cư", Group.DIGITISATION, 2,
                 "VNeID-authenticated accounts and population database lookups"),
    Uncomputable("4.5b", "Hồ sơ sử dụng thông tin từ CSDL dân cư", Group.DIGITISATION, 2,
                 "VNeID-authenticated accounts and population database lookups"),
    Uncomputable("4.cc", "Cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính", Group.DIGITISATION, 2,
                 "electronic certified copies (not offered by this system)"),
    Uncomputable("5.2", "Phản ánh, kiến nghị xử lý đúng hạn", Group.SATISFACTION, 6,
                 "the national feedback (PAKN) system's records"),
    Uncomputable("5.3", "Hài lòng trong xử lý phản ánh, kiến nghị", Group.SATISFACTION, 6,
                 "the national feedback (PAKN) system's records"),
)


@dataclass(frozen=True)
class CatalogueFacts:
    """What the catalogue says of an agency's procedures (its own, or its subtree's for a parent): the index's
    denominators that are procedures, not dossiers."""

    online_services: int  # procedures offered online (full or partial)
    fee_bearing: int  # procedures with non-zero fees
    fee_bearing_payable_online: int  # of those, offered online: both gateways take their fees


@dataclass(frozen=True)
class IndexReport:
    items: tuple[ItemResult, ...]

    def groups(self) -> list[dict[str, Any]]:
        out = []
        for group, points in GROUP_POINTS.items():
            scored = [item for item in self.items if item.group is group and item.scoring.points is not None]
            scores = [item.scoring.score(item.ratio) for item in scored]
            known = [score for score in scores if score is not None]
            out.append({
                "group": group.value, "points": points,
                "computable_points": sum(item.scoring.points or 0 for item in scored),
                "score": round(sum(known), 2) if known else None,
            })
        return out

    def as_dict(self) -> dict[str, Any]:
        groups = self.groups()
        return {
            "items": [item.as_dict() for item in self.items],
            "groups": groups,
            "total": {"points": sum(GROUP_POINTS.values()),
                      "computable_points": sum(g["computable_points"] for g in groups),
                      "score": round(sum(g["score"] or 0 for g in groups), 2)},
            "not_computable": [item.as_dict() for item in UNCOMPUTABLE],
        }


def _results(metrics: Mapping[str, int]) -> tuple[int, int, int]:
    """Results made in the period: all, electronic, and from fully digitised dossiers."""
    made = electronic = digitised = 0
    for metric, value in parsed(metrics):
        if metric.name == RESULT:
            made += value
            electronic += value if metric.label("electronic") == "true" else 0
        elif metric.name == RESULT_DIGITISED:
            digitised += value
    return made, electronic, digitised


def index_items(metrics: Mapping[str, int], on_time: OnTimeFigures, payments: PaymentFigures,
                catalogue: CatalogueFacts) -> IndexReport:
    """Every computable item for one agency scope and period, from its counters summed over the period's months (the
    month-end snapshot for 2.1 comes in `on_time`)."""
    filing = filing_figures(metrics)
    lifecycle = lifecycle_figures(metrics).counts
    full_online = sum(value for metric, value in parsed(metrics) if metric.name == FILED
                      and metric.label("form") == "full" and metric.label("channel") in ("online", "online_assisted"))
    full_eligible = filing.by_online_form.get("full", 0)
    made, electronic, digitised = _results(metrics)
    late = on_time.finished_late + on_time.unfinished_late
    unsatisfied = lifecycle.get("rated_unsatisfied", 0)
    satisfied_part = max(on_time.received - late - unsatisfied, 0)
    return IndexReport((
        # 2.1: (finished on time + unfinished within time) / received in the period; linear, 20 points
        ItemResult("2.1", "Hồ sơ xử lý trước hạn, đúng hạn", Group.PROGRESS, Scoring(20), on_time.share),
        # full-online dossiers / dossiers of procedures eligible for full online; 12 points
        ItemResult("3.tt", "Hồ sơ DVCTT toàn trình / hồ sơ của TTHC đủ điều kiện toàn trình", Group.ONLINE, Scoring(12),
                   Ratio(full_online, full_eligible)),
        # 3.2 (as updated): online services that received an online dossier / online services; no points
        ItemResult("3.2", "Dịch vụ công trực tuyến có phát sinh hồ sơ", Group.ONLINE, Scoring(None),
                   Ratio(distinct_procedures(metrics, FILED_ONLINE_PROCEDURE), catalogue.online_services)),
        # 3.3: dossiers filed online (KenhThucHien = 2, assisted included) / dossiers received; 50%, no points
        ItemResult("3.3", "Hồ sơ nộp trực tuyến", Group.ONLINE, Scoring(None, 50.0), filing.online_any_share),
        # 3.5: fee-bearing procedures payable online / fee-bearing procedures; 2 points at 80%
        ItemResult("3.5", "TTHC có nghĩa vụ tài chính được tích hợp thanh toán trực tuyến", Group.PAYMENT,
                   Scoring(2, 80.0), Ratio(catalogue.fee_bearing_payable_online, catalogue.fee_bearing)),
        # 3.5b: fee-bearing procedures with at least one online payment / fee-bearing procedures; 2 points
        ItemResult("3.5b", "TTHC có giao dịch thanh toán trực tuyến", Group.PAYMENT, Scoring(2),
                   Ratio(min(payments.procedures_paid_online, catalogue.fee_bearing), catalogue.fee_bearing)),
        # 3.6: dossiers paid online / dossiers of fee-bearing procedures with non-zero fees; 6 points, linear
        ItemResult("3.6", "Hồ sơ thanh toán trực tuyến", Group.PAYMENT, Scoring(6), payments.dossiers_paid_online_share),
        # 4.1: dossiers with an electronic result / dossiers with a result; 6 points
        ItemResult("4.1", "Hồ sơ có cấp kết quả giải quyết điện tử", Group.DIGITISATION, Scoring(6),
                   Ratio(electronic, made)),
        # 4.2: dossiers digitised (every component a file, and an electronic result) / dossiers; 4 points at 80%
        ItemResult("4.2", "Hồ sơ thực hiện số hóa", Group.DIGITISATION, Scoring(4, 80.0), Ratio(digitised, made)),
        # 5.4: 100% − (late % + unsatisfied %), over dossiers received; 6 points at 90%
        ItemResult("5.4", "Hài lòng trong tiếp nhận, giải quyết TTHC", Group.SATISFACTION, Scoring(6, 90.0),
                   Ratio(satisfied_part, on_time.received)),
    ))


def catalogue_facts(scope: Sequence[Agency], procedures: Iterable[Procedure]) -> tuple[CatalogueFacts, int]:
    """The catalogue's facts for the procedures offered at any agency of `scope` (an agency and its subordinates),
    and how many procedures that is (the procedures in its competence, for the share offered online)."""
    offered = [p for p in procedures if any(p.is_offered_at(agency) for agency in scope)]
    online = [p for p in offered if p.online_form is not OnlineForm.NONE]
    fee_bearing = [p for p in offered if p.fees_total > 0]
    payable = [p for p in fee_bearing if p.online_form is not OnlineForm.NONE]
    return CatalogueFacts(len(online), len(fee_bearing), len(payable)), len(offered)
