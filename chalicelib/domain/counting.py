"""Counter deltas: which compliance counters an event moves, and a batch summed in memory.

A counter is `(scope, period, metric)`: scope `AGENCY#{code}` for the agency and each of its ancestors
(so a province's figures include its departments and communes, a district's its communes) and
`LEVEL#{province root}#{level}` for the per-level figures; period is the Vietnam-time month `YYYY-MM`;
metric names a count such as `filed|channel=online|form=full`. Only the finest grain is stored: totals
are sums taken when a report is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import month_of
from chalicelib.topology import EventType


@dataclass(frozen=True, order=True)
class CounterKey:
    scope: str
    period: str
    metric: str


def agency_scope(agency_code: str) -> str:
    return f"AGENCY#{agency_code}"


def level_scope(province_root: str, level: str) -> str:
    return f"LEVEL#{province_root}#{level}"


def filed_metric(channel: str, online_form: str) -> str:
    return f"filed|channel={channel}|form={online_form}"


def _scopes(detail: Mapping[str, Any]) -> list[str]:
    path: list[str] = list(detail["agency_path"])
    return [agency_scope(code) for code in path] + [level_scope(path[0], detail["agency_level"])]


def deltas(detail: Mapping[str, Any]) -> Counter[CounterKey]:
    """The counters one event moves, with the amount for each."""
    out: Counter[CounterKey] = Counter()
    if detail["event_type"] == EventType.DOSSIER_SUBMITTED:
        period = month_of(datetime.fromisoformat(detail["occurred_at"]))
        metric = filed_metric(detail["channel"], detail["online_form"])
        for scope in _scopes(detail):
            out[CounterKey(scope, period, metric)] += 1
    return out


def aggregate(details: Iterable[Mapping[str, Any]]) -> Counter[CounterKey]:
    """One batch summed: each touched counter appears once, however many events moved it."""
    total: Counter[CounterKey] = Counter()
    for detail in details:
        total.update(deltas(detail))
    return total
