"""Use case: recompute the counters of a period from the dossiers themselves into the shadow counters table and
report every difference from the live counters. Counting is a pure fold (`domain/counting.py`), so the recount is
the fold of every event the dossiers recorded (their outbox items, kept 13 months), and a live counter that differs
is a bug or a lost event. The shadow table keeps the recount a week (in the live table's layout, year rollups
included), for whoever investigates a difference; it is read back for the comparison, so what is compared is what
was stored.

A rebuild reads every dossier of the agencies it is given (through the agency index: O(dossiers), which is why
reports never do it) and their events, and compares the `AGENCY#` scopes of those agencies. Give it every agency of
the province: a dossier is listed under the agency holding it now, and its events before a transfer count at the
agencies that held it then. Only the metrics events feed are compared: the month-end snapshot (`unfinished`,
`period_closed`) and what consumers count of their own doing (notifications sent) are not events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.counting import agency_scope, aggregate
from chalicelib.domain.events import EVENTS, DomainEvent
from chalicelib.services.ports import Counters, DossierReader, RecountTable

PAGE = 100
FED_BY_EVENTS = frozenset(count.name for spec in EVENTS for count in spec.counts)
"""The metrics a recount of events can give: every other counter (a snapshot, a consumer's own) is left out."""


@dataclass
class RebuildReport:
    months: list[str]
    agencies: int = 0
    dossiers: int = 0
    events: int = 0
    counters_compared: int = 0
    differences: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"months": self.months, "agencies": self.agencies, "dossiers": self.dossiers, "events": self.events,
                "counters_compared": self.counters_compared, "differences": self.differences}


def _fed_by_events(figures: dict[str, int]) -> Counter[str]:
    return Counter({metric: value for metric, value in figures.items() if metric.split("|", 1)[0] in FED_BY_EVENTS})


def rebuild(agency_codes: Sequence[str], months: Sequence[str], dossiers: DossierReader, counters: Counters,
            shadow: RecountTable, compare: Sequence[str] | None = None) -> RebuildReport:
    """Recount `months` from the events of every dossier held by `agency_codes`; write the scopes of `compare`
    (default: the same agencies) to the shadow table and compare them with the live counters."""
    report = RebuildReport(list(months), agencies=len(agency_codes))
    events: list[DomainEvent] = []
    for code in agency_codes:
        cursor = None
        while True:
            page, cursor = dossiers.list_for_agency(code, None, PAGE, cursor)
            for dossier in page:
                report.dossiers += 1
                events.extend(dossiers.events(dossier.id))
            if not cursor:
                break
    report.events = len(events)
    recounted = aggregate(events)
    for code in compare if compare is not None else agency_codes:
        scope = agency_scope(code)
        shadow.replace(scope, months, recounted)
        expected = _fed_by_events(shadow.read(scope, months))
        live = _fed_by_events(counters.read(scope, months))
        for metric in sorted(set(expected) | set(live)):
            report.counters_compared += 1
            if expected[metric] != live[metric]:
                report.differences.append({"scope": scope, "metric": metric, "recounted": expected[metric],
                                           "live": live[metric]})
    return report


