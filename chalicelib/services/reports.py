"""Use cases of the compliance reports: an agency's figures against its targets, a tier of agencies ranked, and the
national index's items. Counters only: a report costs one counter query per agency and month, never a dossier read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import access, index766
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.counting import agency_scope
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.history import Actor
from chalicelib.domain.kpi import (
    Ratio,
    filing_figures,
    month_end,
    months_of_period,
    on_time_figures,
    payment_figures,
)
from chalicelib.domain.targets import Target, Tier, applicable, judged, ranks, tier_of
from chalicelib.services.ports import Catalogue, CatalogueListings, Counters

READERS = 16
"""Counter queries in flight at once for a tier's report: one per agency and month, so a province-year is ~500."""


def period_months(period: str) -> list[str]:
    try:
        return months_of_period(period)
    except ValueError as exc:
        raise ValidationError("Kỳ báo cáo phải có dạng YYYY, YYYY-MM hoặc YYYY-Qn. (period must be YYYY, YYYY-MM or "
                              "YYYY-Qn.)", code="PERIOD_INVALID") from exc


@dataclass(frozen=True)
class AgencyFigures:
    agency: Agency
    figures: dict[str, Ratio]  # every figure a target may name
    index: index766.IndexReport
    targets: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"agency": {"code": self.agency.code, "name": self.agency.name, "kind": self.agency.kind},
                "figures": {name: ratio.as_dict() for name, ratio in self.figures.items()},
                "targets": self.targets}


MonthReads = dict[tuple[str, str], dict[str, int]]  # (agency code, month) → its counters that month


def _read_months(codes: Sequence[str], months: Sequence[str], counters: Counters) -> MonthReads:
    """Every agency's counters for every month: one query each, `READERS` at a time."""
    pairs = [(code, month) for code in codes for month in months]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        found = pool.map(lambda pair: counters.read(agency_scope(pair[0]), [pair[1]]), pairs)
        return dict(zip(pairs, found, strict=True))


def _figures(agency: Agency, scope: Sequence[Agency], months: list[str], reads: MonthReads,
             listings: CatalogueListings, targets: Sequence[Target]) -> AgencyFigures:
    metrics: Counter[str] = Counter()
    for month in months:
        metrics.update(reads[(agency.code, month)])
    closing = reads[(agency.code, months[-1])]  # the month-end snapshot of unfinished dossiers: the last month's
    facts, in_competence = index766.catalogue_facts(scope, (p.procedure for p in listings.listed_procedures()))
    filing, payments = filing_figures(metrics), payment_figures(metrics)
    figures = {
        "online_share": filing.online_share,
        "transactions_online_share": payments.transactions_online_share,
        "fee_procedures_payable_online_share": Ratio(facts.fee_bearing_payable_online, facts.fee_bearing),
        "procedures_paid_online_share": Ratio(min(payments.procedures_paid_online, facts.fee_bearing), facts.fee_bearing),
        "dossiers_paid_online_share": payments.dossiers_paid_online_share,
        "procedures_online_share": Ratio(facts.online_services, in_competence),
    }
    index = index766.index_items(metrics, on_time_figures(metrics, closing), payments, facts)
    last_day = month_end(months[-1]).date()
    return AgencyFigures(agency, figures, index, judged(applicable(targets, agency, last_day), figures))


def _subtree(agency: Agency, agencies: Sequence[Agency]) -> list[Agency]:
    return [a for a in agencies if agency.code in a.path]


def tier_report(root_code: str, period: str, tier: Tier, actor: Actor, catalogue: Catalogue,
                listings: CatalogueListings, counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """Every agency of `tier` under `root_code` (itself included if it is of that tier), its figures against its
    targets, and its rank in the tier for each figure."""
    months = period_months(period)
    access.require_role(actor, access.AGENCY_DATA)
    root = catalogue.agency(root_code)
    access.require_agency_scope(actor, root, ("báo cáo", "reports"))
    agencies = listings.agencies()
    members = [a for a in _subtree(root, agencies) if tier_of(a) is tier]
    reads = _read_months([a.code for a in members], months, counters)
    rows = [_figures(a, _subtree(a, agencies), months, reads, listings, targets) for a in members]
    out = [row.as_dict() for row in rows]
    for name in next(iter(rows)).figures if rows else ():
        for row, rank in zip(out, ranks([r.figures[name].percent for r in rows]), strict=True):
            row["figures"][name]["rank"] = rank
    unranked = len(out) + 1  # after every rank (a list being sorted reads as empty to its key function)
    out.sort(key=lambda row: (row["figures"]["online_share"]["rank"] or unranked, row["agency"]["code"]))
    return {"root": {"code": root.code, "name": root.name}, "period": period, "months": months, "tier": tier.value,
            "agencies": out}


def _one_agency(agency_code: str, period: str, actor: Actor, catalogue: Catalogue, listings: CatalogueListings,
                counters: Counters, targets: Sequence[Target]) -> tuple[AgencyFigures, list[str]]:
    """An agency's figures (its subordinates included) for a period, once the caller may read them."""
    months = period_months(period)
    access.require_role(actor, access.AGENCY_DATA)
    agency = catalogue.agency(agency_code)
    access.require_agency_scope(actor, agency, ("báo cáo", "reports"))
    reads = _read_months([agency.code], months, counters)
    return _figures(agency, _subtree(agency, listings.agencies()), months, reads, listings, targets), months


def agency_report(agency_code: str, period: str, actor: Actor, catalogue: Catalogue, listings: CatalogueListings,
                  counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """One agency's figures (its subordinates included) against the targets it is held to."""
    return _one_agency(agency_code, period, actor, catalogue, listings, counters, targets)[0].as_dict()


def index_report(agency_code: str, period: str, actor: Actor, catalogue: Catalogue, listings: CatalogueListings,
                 counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """The national index's computable items for an agency (its subordinates included), with their scores."""
    row, months = _one_agency(agency_code, period, actor, catalogue, listings, counters, targets)
    agency = row.agency
    return {"agency": {"code": agency.code, "name": agency.name, "level": agency.level.value}, "period": period,
            "months": months, **row.index.as_dict()}
