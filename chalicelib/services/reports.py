"""Use cases of the compliance reports: an agency's figures against its targets, a tier of agencies ranked, and the
national index's items. Counters only: a report costs at most two counter queries per agency whatever the period's
length (a year reads its rollup), never a dossier read."""

from __future__ import annotations

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
    lifecycle_figures,
    month_end,
    months_of_period,
    on_time_figures,
    payment_figures,
    postal_figures,
)
from chalicelib.domain.targets import Target, Tier, applicable, judged, ranks, tier_of
from chalicelib.services.ports import Catalogue, CatalogueListings, Counters

READERS = 16
"""Counter queries in flight at once for a tier's report: two per agency at most, whatever the period's length."""


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


@dataclass(frozen=True)
class PeriodReads:
    """An agency's counters for a period: summed over its months, and its last month's alone (whose month-end
    snapshot judges the dossiers unfinished at the period's end)."""

    summed: dict[str, int]
    closing: dict[str, int]


def _read_one(code: str, months: Sequence[str], counters: Counters) -> PeriodReads:
    summed = counters.read(agency_scope(code), months)
    return PeriodReads(summed, summed if len(months) == 1 else counters.read(agency_scope(code), months[-1:]))


def _read_months(codes: Sequence[str], months: Sequence[str], counters: Counters) -> dict[str, PeriodReads]:
    """Every agency's counters for the period: two queries per agency at most (see `Counters.read`), `READERS` at a
    time."""
    wanted = list(dict.fromkeys(codes))
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        return dict(zip(wanted, pool.map(lambda code: _read_one(code, months, counters), wanted), strict=True))


def _figures(agency: Agency, scope: Sequence[Agency], months: list[str], reads: dict[str, PeriodReads],
             listings: CatalogueListings, targets: Sequence[Target]) -> AgencyFigures:
    metrics, closing = reads[agency.code].summed, reads[agency.code].closing
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


def _readable(agency_code: str, actor: Actor, catalogue: Catalogue) -> Agency:
    """The agency, once the caller may read its reports: the role is checked before any lookup, so a citizen learns
    nothing of agency codes."""
    access.require_role(actor, access.AGENCY_DATA)
    agency = catalogue.agency(agency_code)
    access.require_agency_scope(actor, agency, ("báo cáo", "reports"))
    return agency


def _members(root: Agency, tier: Tier, agencies: Sequence[Agency]) -> list[Agency]:
    return [a for a in _subtree(root, agencies) if tier_of(a) is tier]


def _ranking(root: Agency, period: str, months: list[str], tier: Tier, agencies: Sequence[Agency], reads: dict[str, PeriodReads],
             listings: CatalogueListings, targets: Sequence[Target]) -> dict[str, Any]:
    rows = [_figures(a, _subtree(a, agencies), months, reads, listings, targets) for a in _members(root, tier, agencies)]
    out = [row.as_dict() for row in rows]
    for name in next(iter(rows)).figures if rows else ():
        for row, rank in zip(out, ranks([r.figures[name].percent for r in rows]), strict=True):
            row["figures"][name]["rank"] = rank
    unranked = len(out) + 1  # after every rank (a list being sorted reads as empty to its key function)
    out.sort(key=lambda row: (row["figures"]["online_share"]["rank"] or unranked, row["agency"]["code"]))
    return {"root": {"code": root.code, "name": root.name}, "period": period, "months": months, "tier": tier.value,
            "agencies": out}


def tier_reports(root_code: str, period: str, tiers: Sequence[Tier], actor: Actor, catalogue: Catalogue,
                 listings: CatalogueListings, counters: Counters, targets: Sequence[Target]) -> list[dict[str, Any]]:
    """For each of `tiers`, every agency of that tier under `root_code` (itself included if it is of that tier), its
    figures against its targets, and its rank in the tier for each figure. Each agency's counters are read once."""
    months = period_months(period)
    root = _readable(root_code, actor, catalogue)
    agencies = listings.agencies()
    reads = _read_months([a.code for tier in tiers for a in _members(root, tier, agencies)], months, counters)
    return [_ranking(root, period, months, tier, agencies, reads, listings, targets) for tier in tiers]


def tier_report(root_code: str, period: str, tier: Tier, actor: Actor, catalogue: Catalogue,
                listings: CatalogueListings, counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """Every agency of `tier` under `root_code`, ranked (see `tier_reports`)."""
    return tier_reports(root_code, period, [tier], actor, catalogue, listings, counters, targets)[0]


def summary(agency: Agency, period: str, months: list[str], reads: PeriodReads) -> dict[str, Any]:
    """An agency's filing, lifecycle, on-time, payment and postal figures for the months, from its counters."""
    metrics = reads.summed
    on_time = on_time_figures(metrics, reads.closing)  # the month-end snapshot: unfinished judged then
    figures = filing_figures(metrics)
    lifecycle = lifecycle_figures(metrics)
    return {
        "agency": {"code": agency.code, "name": agency.name, "level": agency.level.value},
        "period": period,
        "months": months,
        "filed": {
            "total": figures.total,
            "by_channel": figures.by_channel,
            "by_online_form": figures.by_online_form,
            "internal_by_channel": figures.internal_by_channel,
        },
        "online_share": figures.online_share.as_dict(),
        "internal_online_share": figures.internal_online_share.as_dict(),
        "online_any_share": figures.online_any_share.as_dict(),
        "lifecycle": lifecycle.counts,
        "on_time": on_time.as_dict(),
        "on_time_share": on_time.share.as_dict(),
        "finished_on_time_share": lifecycle.finished_on_time_share.as_dict(),
        "payments": payment_figures(metrics).as_dict(),
        "postal": postal_figures(metrics).as_dict(),
    }


def kpi_report(agency_code: str, period: str, tier: Tier | None, actor: Actor, catalogue: Catalogue,
               listings: CatalogueListings, counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """An agency's figures (its subordinates included) for a period, the targets it is held to and, with `tier`, every
    agency of that tier under it ranked. The agency's counters and each member's are read once, in one query each."""
    months = period_months(period)
    agency = _readable(agency_code, actor, catalogue)
    agencies = listings.agencies()
    members = _members(agency, tier, agencies) if tier else []
    reads = _read_months([agency.code, *(a.code for a in members)], months, counters)
    report = summary(agency, period, months, reads[agency.code])
    report["targets"] = _figures(agency, _subtree(agency, agencies), months, reads, listings, targets).targets
    if tier:
        report["ranking"] = _ranking(agency, period, months, tier, agencies, reads, listings, targets)
    return report


def _one_agency(agency_code: str, period: str, actor: Actor, catalogue: Catalogue, listings: CatalogueListings,
                counters: Counters, targets: Sequence[Target]) -> tuple[AgencyFigures, list[str]]:
    """An agency's figures (its subordinates included) for a period, once the caller may read them."""
    months = period_months(period)
    agency = _readable(agency_code, actor, catalogue)
    reads = _read_months([agency.code], months, counters)
    return _figures(agency, _subtree(agency, listings.agencies()), months, reads, listings, targets), months


def index_report(agency_code: str, period: str, actor: Actor, catalogue: Catalogue, listings: CatalogueListings,
                 counters: Counters, targets: Sequence[Target]) -> dict[str, Any]:
    """The national index's computable items for an agency (its subordinates included), with their scores."""
    row, months = _one_agency(agency_code, period, actor, catalogue, listings, counters, targets)
    agency = row.agency
    return {"agency": {"code": agency.code, "name": agency.name, "level": agency.level.value}, "period": period,
            "months": months, **row.index.as_dict()}
