"""Counting as a pure fold: the counters each event moves, as its registry row says, once per event id.

A counter is `(scope, period, metric)`: scope `AGENCY#{code}` for the agency and each of its ancestors (so a
province's figures include its departments and communes, a district's its communes) and `LEVEL#{province root}#{level}`
for the per-level figures; period is the Vietnam-time month `YYYY-MM`; the metric is a `Metric` such as
`filed|channel=online|form=full`. Only the finest grain is stored: totals are sums taken when a report is read.

The `LEVEL#` scopes are not read by today's report; they are kept for the per-tier rollups the compliance reports
will need (a whole province's communes against their targets), because they are cheap: a batch sums them in memory,
so they add one counter write per level, metric and month in each of its transactions, not one per event.

`fold` is all the live consumer computes, and all a rebuild would: replaying the bus archive (through
`events.from_detail`) or rescanning the dossiers must give the same figures as the live table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum

from .calendar import month_of
from .events import DomainEvent, DossierChanged, DossierSubmitted, spec_of
from .metrics import Count, Metric, label_value


@dataclass(frozen=True, order=True)
class CounterKey:
    scope: str
    period: str
    metric: Metric


Deltas = Counter[CounterKey]
"""What one event adds to each counter it moves."""


def agency_scope(agency_code: str) -> str:
    return f"AGENCY#{agency_code}"


def level_scope(province_root: str, level: str) -> str:
    return f"LEVEL#{province_root}#{level}"


def scopes(event: DomainEvent) -> list[str]:
    path = event.agency_path
    return [agency_scope(code) for code in path] + [level_scope(path[0], event.agency_level)]


_OWN_FIELDS = {kind: frozenset(f.name for f in fields(kind)) for kind in (DossierSubmitted, DossierChanged)}


def field_value(event: DomainEvent, name: str) -> object:
    """A field (or property) of the event, or else of its payload: what a `Count` labels its metric with."""
    own = name in _OWN_FIELDS[type(event)] or isinstance(getattr(type(event), name, None), property)
    return getattr(event, name) if own else getattr(event.payload, name)


def _metric(count: Count, event: DomainEvent) -> Metric | None:
    if count.when is not None and field_value(event, count.when) is not True:
        return None
    labels: dict[str, str] = {}
    for label, name in count.labels:
        value = label_value(field_value(event, name))
        if value is None:
            return None
        labels[label] = value
    return Metric.of(count.name, **labels)


def metrics_of(event: DomainEvent) -> list[Metric]:
    """The metrics one event adds 1 to (at every scope of its agency), in its registry row's order."""
    metrics = (_metric(count, event) for count in spec_of(event.event_type).counts)
    return [metric for metric in metrics if metric is not None]


def deltas(event: DomainEvent) -> Deltas:
    """The counters one event moves, with the amount for each."""
    out: Deltas = Counter()
    metrics = metrics_of(event)
    if not metrics:
        return out
    period = month_of(event.occurred_at)
    for scope in scopes(event):
        for metric in metrics:
            out[CounterKey(scope, period, metric)] += 1
    return out


def fold(events: Iterable[DomainEvent]) -> dict[str, Deltas]:
    """Each distinct event's deltas, by event id, in order of first appearance. An id seen again is the same event
    delivered again (the bus delivers at least once; an archive may hold a replayed event twice): counted once."""
    out: dict[str, Deltas] = {}
    for event in events:
        if event.event_id not in out:
            out[event.event_id] = deltas(event)
    return out


def total(ledger: Mapping[str, Deltas]) -> Deltas:
    """What the events of a fold add up to: each touched counter once, however many events moved it."""
    out: Deltas = Counter()
    for event_deltas in ledger.values():
        out.update(event_deltas)
    return out


def aggregate(events: Iterable[DomainEvent]) -> Deltas:
    """The counters a set of events amounts to: what a rebuild writes."""
    return total(fold(events))


@dataclass
class ApplyStats:
    """What applying a batch's deltas did: the figures the consumer logs and the bench reports."""

    applied_ids: set[str] = field(default_factory=set)  # the events counted now (not before): what the live metrics show
    events_applied: int = 0
    events_skipped: int = 0  # already counted before (a redelivery)
    transactions: int = 0
    counter_writes: int = 0
    marker_writes: int = 0


# --- live metrics for the console -------------------------------------------------------------------------------


class Headline(str, Enum):
    """The headline figures the administrators' dashboard shows live, by tier: each value is the CloudWatch metric
    name the counters consumer emits (`chalicelib/metric_names.py` gives them their namespace and dimensions)."""

    DOSSIERS_FILED = "DossiersFiled"
    DOSSIERS_FILED_ONLINE = "DossiersFiledOnline"
    FINISHED_ON_TIME = "FinishedOnTime"
    FINISHED_LATE = "FinishedLate"
    PAYMENT_TRANSACTIONS = "PaymentTransactions"
    PAYMENT_TRANSACTIONS_ONLINE = "PaymentTransactionsOnline"
    DOSSIERS_PAID_ONLINE = "DossiersPaidOnline"


def headline(events: Iterable[DomainEvent]) -> Counter[tuple[Headline, str]]:
    """The headline figures these events add, as (figure, the agency's tier) → amount: what the administrators'
    dashboard shows live. The exact figures are the counters; these follow them, event by event."""
    out: Counter[tuple[Headline, str]] = Counter()
    for event in events:
        names: list[Headline] = []
        if isinstance(event, DossierSubmitted):
            names.append(Headline.DOSSIERS_FILED)
            if event.channel == "online":
                names.append(Headline.DOSSIERS_FILED_ONLINE)
        else:
            for metric in metrics_of(event):
                if metric.name == "finished":
                    on_time = metric.label("on_time") == "true"
                    names.append(Headline.FINISHED_ON_TIME if on_time else Headline.FINISHED_LATE)
                elif metric.name == "payment":
                    names.append(Headline.PAYMENT_TRANSACTIONS)
                    if metric.label("via") == "online":
                        names.append(Headline.PAYMENT_TRANSACTIONS_ONLINE)
                elif metric.name == "dossier_paid_online":
                    names.append(Headline.DOSSIERS_PAID_ONLINE)
        for name in names:
            out[(name, event.agency_level)] += 1
    return out
