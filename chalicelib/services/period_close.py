"""Use case: close a month for the on-time rule, judging every dossier still open at its end (index 2.1).

The index judges an unfinished dossier at the last day of the reporting period. The report reads counters only,
so a month-end job writes what the period's end looked like: for each agency, its open dossiers read from the sparse
due index (open dossiers only: a bounded query per agency, never a scan), each judged at the month's last instant and
counted `unfinished|on_time=true|false` at its agency and ancestors, then a `period_closed` marker per agency. Each
dossier's contribution and each marker is applied once (the counters' exactly-once markers), so a rerun, or a run
retried after a failure, counts nothing twice. A quarter's report reads the snapshot of its last month.

It runs with the daily deadline watch at 07:00 on the 1st (`month_to_close`), before offices open at 07:30: a dossier
finished between the month's end and the run (a withdrawal at night) is no longer in the due index and is missed (its
finish is counted in the next month); one received after the end is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import WorkingCalendar, business_date
from chalicelib.domain.counting import Deltas
from chalicelib.domain.kpi import month_closed, month_end, unfinished_at_month_end
from chalicelib.services.ports import Counters, DossierReader

PAGE = 100
_EVERY_DUE_DATE = "9999-12-31T23:59:59.999Z"  # the due index's sort key is ISO-8601 UTC text: above every due date


def month_to_close(now: datetime) -> str | None:
    """The month just ended ("YYYY-MM") when `now` is on the 1st in Vietnam time; None on other days."""
    today = business_date(now)
    if today.day != 1:
        return None
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


@dataclass
class PeriodCloseResult:
    month: str
    agencies: int = 0
    within_time: int = 0
    late: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "agencies": self.agencies, "within_time": self.within_time, "late": self.late}


def close_month(
    month: str,
    agency_codes: Iterable[str],
    dossiers: DossierReader,
    counters: Counters,
    calendar_for: Callable[[int], WorkingCalendar],
    *,
    now: datetime,
) -> PeriodCloseResult:
    """Write the month-end snapshot of `month` ("YYYY-MM") for each agency; ValueError before the month has ended."""
    end = month_end(month)
    if now <= end:
        raise ValueError(f"month {month} has not ended yet")
    calendar = calendar_for(end.year)
    result = PeriodCloseResult(month)
    for agency in agency_codes:
        ledger: dict[str, Deltas] = {}
        cursor: dict[str, Any] | None = None
        while True:
            page, cursor = dossiers.list_due(agency, _EVERY_DUE_DATE, PAGE, cursor)
            for dossier in page:
                for event_id, deltas in unfinished_at_month_end(dossier, month, calendar).items():
                    ledger[event_id] = deltas
                    within = any(key.metric.label("on_time") == "true" for key in deltas)
                    result.within_time += within
                    result.late += not within
            if not cursor:
                break
        ledger.update(month_closed(agency, month))  # last: the marker says the agency's snapshot is complete
        counters.apply(ledger)
        result.agencies += 1
    return result
