"""The province-year report's latency over HTTP, served from a year of counters for every agency.

A year (the previous calendar year, which no other section writes) is seeded straight into the counters table with
the values a realistic month of events per agency folds to (every channel and form, several procedures, one event
of every registered type), through `domain.counting.aggregate`, so the report reads the metric names and item counts
the live consumer writes. Then GET /v1/reports/kpi?period=YYYY&agency={root}&tier=commune is timed: the root's figures
and each commune's, ranked. Run alone: `python -m bench.reports`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from datetime import UTC, datetime
from typing import Any

from bench.measure import Table
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.counting import aggregate
from chalicelib.domain.events import EVENTS, DomainEvent, EventType
from chalicelib.store.counters import CounterTable
from tests.samples import nth_event_id, sample, submitted
from tests.support import Api

SAMPLES = 40
WARMUP = 5
PROCEDURES = ("1.001193", "1.000894", "2.002154", "1.004227", "1.003003", "2.000908")
FILINGS = (("online", "full"), ("online", "partial"), ("direct", "none"), ("postal", "none"))


def month_of_events(agency: Agency, year: int, month: int, ids: itertools.count[int]) -> list[DomainEvent]:
    """What one agency's month might send the counters: each channel and form for each procedure, and one event
    of every other registered type per procedure."""
    at = datetime(year, month, 10, 3, tzinfo=UTC)
    where: dict[str, Any] = {"path": agency.path, "level": agency.level.value, "at": at}
    events: list[DomainEvent] = []
    for procedure in PROCEDURES:
        for channel, form in FILINGS:
            event = submitted(nth_event_id(next(ids)), channel=channel, form=form, **where)
            events.append(dataclasses.replace(event, procedure_code=procedure))
        for spec in EVENTS:
            if spec.name != EventType.DOSSIER_SUBMITTED:
                event = sample(spec.name, event_id=nth_event_id(next(ids)), on_time=True, **where)
                events.append(dataclasses.replace(event, procedure_code=procedure))
    return events


def seed_year(agencies: list[Agency], year: int) -> int:
    """Counters for every leaf agency's twelve months (and so for its ancestors'): the items written."""
    parents = {code for agency in agencies for code in agency.path[:-1]}
    ids = itertools.count(10**12)
    events = [event for agency in agencies if agency.code not in parents
              for month in range(1, 13) for event in month_of_events(agency, year, month, ids)]
    return CounterTable().put_totals(aggregate(events))


def year_report_figures(api: Api, agencies: list[Agency], table: Table) -> None:
    root = next(a for a in agencies if len(a.path) == 1)
    communes = sum(1 for a in agencies if a.kind == "commune")
    year = datetime.now(UTC).year - 1
    started = time.perf_counter()
    items = seed_year(agencies, year)
    table.line(f"a year of counters for {len(agencies)} agencies: {items} items seeded in "
               f"{time.perf_counter() - started:.0f} s")
    admin = api.token("admin")
    path = f"/v1/reports/kpi?period={year}&agency={root.code}&tier=commune"
    times: list[float] = []
    for i in range(WARMUP + SAMPLES):
        start = time.perf_counter()
        reply = api.call("GET", path, token=admin)
        elapsed = (time.perf_counter() - start) * 1000
        assert reply.status == 200, reply.body
        if i >= WARMUP:
            times.append(elapsed)
    ranked = len(reply.body["ranking"]["agencies"])
    table.header()
    table.latency(f"province-year report, {ranked} communes ranked (HTTP)", times)
    table.check(ranked == communes and reply.body["filed"]["total"] > 0,
                f"the report ranked all {communes} communes and counted {reply.body['filed']['total']} filings",
                f"the report ranked {ranked} of {communes} communes")


def main() -> None:
    import sys

    from bench.measure import quiet, warnings_only
    from infra.local.processes import ROOT
    from infra.local.stack import LocalStack, StackConfig
    from infra.seed import agencies

    with quiet(ROOT / ".local" / "logs" / "bench-reports.log") as terminal:
        table = Table(terminal)
        config = StackConfig.for_tests()
        config.run_event_sources = False
        stack = LocalStack(config).start()
        try:
            warnings_only()
            year_report_figures(Api(stack.api_url), agencies(stack.config.province_code), table)
        finally:
            stack.stop()
    if table.problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
