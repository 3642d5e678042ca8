"""The province's targets as configuration (`chalicelib/seed/targets.json`): which figure, what minimum, valid when,
for which tiers of agencies; and the ranking of an agency within its tier.

A tier is the kind of agency the province compares with each other: its departments (the provincial inspectorate
excepted by the October 2023 decision), its districts where the province has three tiers, its communes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from .catalogue import Agency
from .kpi import Ratio


class Tier(StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"


def tier_of(agency: Agency) -> Tier | None:
    """The tier an agency is ranked in; None for those outside every tier (the public-service centre)."""
    if len(agency.path) == 1:
        return Tier.PROVINCE
    return {"department": Tier.DEPARTMENT, "district": Tier.DISTRICT, "commune": Tier.COMMUNE}.get(agency.kind)


FIGURES = ("online_share", "transactions_online_share", "fee_procedures_payable_online_share",
           "procedures_paid_online_share", "dossiers_paid_online_share", "procedures_online_share")
"""The figures a target may name: each is a `Ratio` the report computes for every agency."""


@dataclass(frozen=True)
class Target:
    id: str
    figure: str
    minimum_percent: float
    valid_from: date
    valid_to: date | None
    tiers: frozenset[Tier]
    excluded_departments: frozenset[str]
    source: str

    def applies(self, agency: Agency, on: date) -> bool:
        tier = tier_of(agency)
        in_force = self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)
        excluded = agency.department is not None and agency.department in self.excluded_departments
        return in_force and tier in self.tiers and not excluded

    def met(self, ratio: Ratio) -> bool | None:
        """Whether `ratio` reaches the minimum; None when there is nothing to judge (no denominator)."""
        if ratio.denominator == 0:
            return None
        return 100 * ratio.numerator >= self.minimum_percent * ratio.denominator


def targets_from_data(data: Mapping[str, Any]) -> tuple[Target, ...]:
    out = []
    for entry in data["targets"]:
        if entry["figure"] not in FIGURES:
            raise ValueError(f"target {entry['id']}: unknown figure {entry['figure']!r}")
        out.append(Target(
            id=entry["id"], figure=entry["figure"], minimum_percent=float(entry["minimum_percent"]),
            valid_from=date.fromisoformat(entry["valid_from"]),
            valid_to=date.fromisoformat(entry["valid_to"]) if entry.get("valid_to") else None,
            tiers=frozenset(Tier(t) for t in entry["tiers"]),
            excluded_departments=frozenset(entry.get("excluded_departments", ())), source=entry["source"],
        ))
    return tuple(out)


def applicable(targets: Iterable[Target], agency: Agency, on: date) -> list[Target]:
    """The targets an agency is held to on day `on` (the last day of a report's period), one per figure: the latest
    in force where two overlap."""
    chosen: dict[str, Target] = {}
    for target in sorted(targets, key=lambda t: t.valid_from):
        if target.applies(agency, on):
            chosen[target.figure] = target
    return list(chosen.values())


def judged(targets: Iterable[Target], figures: Mapping[str, Ratio]) -> list[dict[str, Any]]:
    """Each applicable target with the agency's figure and whether it is met."""
    return [{"target": t.id, "figure": t.figure, "minimum_percent": t.minimum_percent, "source": t.source,
             "value": figures[t.figure].as_dict(), "met": t.met(figures[t.figure])} for t in targets]


def ranks(values: Sequence[float | None]) -> list[int | None]:
    """Competition ranks, highest first ("1, 2, 2, 4"); an agency with nothing to judge is not ranked."""
    ordered = sorted((v for v in values if v is not None), reverse=True)
    return [None if v is None else 1 + ordered.index(v) for v in values]
