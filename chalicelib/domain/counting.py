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

from .calendar import month_of
from .vocabulary import EventType


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


_PLAIN_METRIC: dict[str, str] = {
    EventType.DOSSIER_REFUSED_AT_DOOR: "not_received",
    EventType.SUPPLEMENT_REQUESTED: "supplement_requested",
    EventType.DOSSIER_WITHDRAWN: "withdrawn",
    EventType.RESULT_READY: "processed",
    EventType.PROCESSING_STOPPED: "stopped",
    EventType.APOLOGY_ISSUED: "apologies",
    EventType.DOSSIER_TRANSFERRED: "transferred_in",
}


def metrics_of(detail: Mapping[str, Any]) -> list[str]:
    """The metric names one event adds 1 to (at every scope of its agency)."""
    event_type = detail["event_type"]
    if event_type == EventType.DOSSIER_SUBMITTED:
        return [filed_metric(detail["channel"], detail["online_form"])]
    names = []
    if event_type == EventType.DOSSIER_RECEIVED:
        names.append(f"received|channel={detail['channel']}")
    elif event_type == EventType.RESULT_RETURNED:
        names.append(f"returned|via={detail['attributes'].get('via')}")
    elif event_type == EventType.DOSSIER_RATED:
        names.append(f"rated|rating={detail['attributes'].get('rating')}")
    elif event_type in _PLAIN_METRIC:
        names.append(_PLAIN_METRIC[event_type])
    if detail.get("on_time") is not None:  # the event that ended processing: on time or late
        names.append(f"finished|on_time={'true' if detail['on_time'] else 'false'}")
    return names


def deltas(detail: Mapping[str, Any]) -> Counter[CounterKey]:
    """The counters one event moves, with the amount for each."""
    out: Counter[CounterKey] = Counter()
    names = metrics_of(detail)
    if not names:
        return out
    period = month_of(datetime.fromisoformat(detail["occurred_at"]))
    for scope in _scopes(detail):
        for name in names:
            out[CounterKey(scope, period, name)] += 1
    return out


def aggregate(details: Iterable[Mapping[str, Any]]) -> Counter[CounterKey]:
    """One batch summed: each touched counter appears once, however many events moved it."""
    total: Counter[CounterKey] = Counter()
    for detail in details:
        total.update(deltas(detail))
    return total
