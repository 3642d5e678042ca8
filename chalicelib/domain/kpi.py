"""KPI formulas over stored counter values: counts by channel and online form, and the online shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .events import EVENTS
from .metrics import FILED, FINISHED, RATED, Metric
from .vocabulary import Channel, OnlineForm, Rating


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        """Percentage rounded to two places; None when there is nothing to divide by."""
        if self.denominator == 0:
            return None
        return round(100 * self.numerator / self.denominator, 2)

    def as_dict(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator, "percent": self.percent}


@dataclass(frozen=True)
class FilingFigures:
    total: int
    by_channel: dict[str, int]
    by_online_form: dict[str, int]

    @property
    def online_share(self) -> Ratio:
        """Target 3.3: dossiers filed online from anywhere over all dossiers filed."""
        return Ratio(self.by_channel[Channel.ONLINE.value], self.total)

    @property
    def online_any_share(self) -> Ratio:
        """Online from anywhere plus online with help at a desk."""
        online = self.by_channel[Channel.ONLINE.value] + self.by_channel[Channel.ONLINE_ASSISTED.value]
        return Ratio(online, self.total)


def filing_figures(metrics: Mapping[str, int]) -> FilingFigures:
    """Sum the `filed|channel=..|form=..` counters (keyed by their stored text) into totals by channel and form."""
    by_channel = {channel.value: 0 for channel in Channel}
    by_form = {form.value: 0 for form in OnlineForm}
    total = 0
    for metric, value in _parsed(metrics):
        channel, form = metric.label("channel"), metric.label("form")
        if metric.name != FILED or channel is None or form is None:
            continue
        by_channel[channel] = by_channel.get(channel, 0) + value
        by_form[form] = by_form.get(form, 0) + value
        total += value
    return FilingFigures(total=total, by_channel=by_channel, by_online_form=by_form)


_PERIOD = re.compile(r"([0-9]{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))", re.ASCII)


def months_of_period(period: str) -> list[str]:
    """`2026-11` → that month; `2026-Q4` → its three months. Raises ValueError for anything else, including
    digits other than ASCII ('²²²²-11' would pass `str.isdigit()`)."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period: {period!r}")
    year, month, quarter = match.groups()
    if month:
        return [f"{year}-{month}"]
    first = 3 * (int(quarter) - 1) + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


@dataclass(frozen=True)
class LifecycleFigures:
    """Counts of what happened to dossiers in the period, and the on-time share of those finished."""

    counts: dict[str, int]

    @property
    def on_time_share(self) -> Ratio:
        """Finished on time over finished (the index's 2.1 counts unfinished ones too: see the report)."""
        on_time = self.counts["finished_on_time"]
        return Ratio(on_time, on_time + self.counts["finished_late"])


# A lifecycle count sums its metric over the metric's labels, except two the report shows apart.
_SHOWN_APART: dict[str, tuple[str, dict[str, str]]] = {
    FINISHED: ("on_time", {"true": "finished_on_time", "false": "finished_late"}),
    RATED: ("rating", {rating.value: f"rated_{rating.value}" for rating in Rating}),
}


def _lifecycle_keys(name: str) -> tuple[str, ...]:
    return tuple(_SHOWN_APART[name][1].values()) if name in _SHOWN_APART else (name,)


LIFECYCLE_METRICS: tuple[str, ...] = tuple(dict.fromkeys(
    key for spec in EVENTS for count in spec.counts if count.name != FILED for key in _lifecycle_keys(count.name)
))
"""The report's lifecycle counts: one per metric the event registry feeds (so a new counted type shows up)."""


def _lifecycle_key(metric: Metric) -> str | None:
    if metric.name not in _SHOWN_APART:
        return metric.name
    label, keys = _SHOWN_APART[metric.name]
    return keys.get(metric.label(label) or "")


def lifecycle_figures(metrics: Mapping[str, int]) -> LifecycleFigures:
    counts = dict.fromkeys(LIFECYCLE_METRICS, 0)
    for metric, value in _parsed(metrics):
        key = _lifecycle_key(metric)
        if key in counts:
            counts[key] += value
    return LifecycleFigures(counts)


def _parsed(metrics: Mapping[str, int]) -> list[tuple[Metric, int]]:
    """Stored counters by their metric; text outside the grammar is no metric of ours and is left out."""
    out = []
    for text, value in metrics.items():
        try:
            out.append((Metric.parse(text), value))
        except ValueError:
            continue
    return out
