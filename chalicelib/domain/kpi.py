"""KPI formulas over stored counter values: counts by channel and online form, the online shares, and the index's
on-time rule (2.1) with its month-end snapshot of unfinished dossiers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from .actions import clock_facts
from .calendar import VN_TZ, WorkingCalendar
from .counting import CounterKey, Deltas, agency_scope
from .dossier import Dossier
from .events import EVENTS
from .metrics import (
    FEE_BEARING,
    FILED,
    FINISHED,
    NOT_LIFECYCLE,
    PAID_ONLINE_DOSSIER,
    PAID_ONLINE_PROCEDURE,
    PAYMENT,
    PAYMENT_REQUESTED,
    PERIOD_CLOSED,
    RATED,
    RECEIVED,
    SHIPMENT_DELIVERED,
    SHIPMENT_REQUESTED,
    SHIPMENT_RETURNED,
    UNFINISHED,
    Metric,
    label_value,
)
from .timeliness import is_late, judge
from .vocabulary import INTERNAL_FILERS, Channel, OnlineForm, Rating, ResultDelivery


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
    internal_by_channel: dict[str, int] = field(default_factory=dict)  # filed by internal filers (see ApplicantKind)

    @property
    def internal_online_share(self) -> Ratio:
        """Internal dossiers filed online (from anywhere or assisted) over internal dossiers filed: the directive
        wants every one online (Quảng Nam, 13 Sep 2021)."""
        online = sum(n for channel, n in self.internal_by_channel.items() if channel in _ONLINE_CHANNELS)
        return Ratio(online, sum(self.internal_by_channel.values()))

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
    """Sum the `filed|applicant=..|channel=..|form=..` counters (keyed by their stored text) into totals by channel
    and form, and the internal filers' by channel. Counters from before the applicant label count in the totals only."""
    by_channel = {channel.value: 0 for channel in Channel}
    by_form = {form.value: 0 for form in OnlineForm}
    internal = {channel.value: 0 for channel in Channel}
    total = 0
    for metric, value in parsed(metrics):
        channel, form = metric.label("channel"), metric.label("form")
        if metric.name != FILED or channel is None or form is None:
            continue
        by_channel[channel] = by_channel.get(channel, 0) + value
        by_form[form] = by_form.get(form, 0) + value
        total += value
        if metric.label("applicant") in _INTERNAL_FILERS:
            internal[channel] = internal.get(channel, 0) + value
    return FilingFigures(total=total, by_channel=by_channel, by_online_form=by_form, internal_by_channel=internal)


_INTERNAL_FILERS = frozenset(kind.value for kind in INTERNAL_FILERS)
_ONLINE_CHANNELS = frozenset(channel.value for channel in Channel if channel.is_online)


_PERIOD = re.compile(r"(20[0-9]{2})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?", re.ASCII)  # the service's span: 2000–2099


def months_of_period(period: str) -> list[str]:
    """`2026-11` → that month; `2026-Q4` → its three months; `2026` → its twelve. Raises ValueError for anything
    else, including digits other than ASCII ('²²²²-11' would pass `str.isdigit()`)."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period: {period!r}")
    year, month, quarter = match.groups()
    if month:
        return [f"{year}-{month}"]
    if quarter is None:
        return [f"{year}-{m:02d}" for m in range(1, 13)]
    first = 3 * (int(quarter) - 1) + 1
    return [f"{year}-{m:02d}" for m in range(first, first + 3)]


@dataclass(frozen=True)
class LifecycleFigures:
    """Counts of what happened to dossiers in the period, and the on-time share of those finished."""

    counts: dict[str, int]

    @property
    def finished_on_time_share(self) -> Ratio:
        """Finished on time over finished (received dossiers only): not the index's 2.1, see `OnTimeFigures`."""
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
    key for spec in EVENTS for count in spec.counts if count.name != FILED and count.name not in NOT_LIFECYCLE
    for key in _lifecycle_keys(count.name)
))
"""The report's lifecycle counts: one per metric the event registry feeds (so a new counted type shows up)."""


def _lifecycle_key(metric: Metric) -> str | None:
    if metric.name not in _SHOWN_APART:
        return metric.name
    label, keys = _SHOWN_APART[metric.name]
    return keys.get(metric.label(label) or "")


def lifecycle_figures(metrics: Mapping[str, int]) -> LifecycleFigures:
    counts = dict.fromkeys(LIFECYCLE_METRICS, 0)
    for metric, value in parsed(metrics):
        key = _lifecycle_key(metric)
        if key in counts:
            counts[key] += value
    return LifecycleFigures(counts)


def parsed(metrics: Mapping[str, int]) -> list[tuple[Metric, int]]:
    """Stored counters by their metric; text outside the grammar is no metric of ours and is left out."""
    out = []
    for text, value in metrics.items():
        try:
            out.append((Metric.parse(text), value))
        except ValueError:
            continue
    return out


# --- payments --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFigures:
    """The payment figures of the province's October 2023 targets and the index's payment group.

    `transactions_online` / `transactions`: payment transactions that took money online over all of them, desk
    payments included (target: ≥ 30% of payment transactions online). `dossiers_paid_online` (each dossier once, in
    the month of its first online payment) / `fee_bearing_dossiers` (dossiers filed with non-zero fees): index 3.6,
    "dossiers paid online / dossiers of fee-bearing procedures with non-zero fees", and the target of 30% of dossiers
    with an online payment. `procedures_paid_online`: distinct procedures with at least one online payment (the
    numerator of the target of 50% of procedures; its denominator is the catalogue's).
    """

    transactions_online: int
    transactions: int
    dossiers_paid_online: int
    fee_bearing_dossiers: int
    procedures_paid_online: int
    online_payments_requested: int

    @property
    def transactions_online_share(self) -> Ratio:
        return Ratio(self.transactions_online, self.transactions)

    @property
    def dossiers_paid_online_share(self) -> Ratio:
        return Ratio(self.dossiers_paid_online, self.fee_bearing_dossiers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "transactions_online": self.transactions_online, "transactions": self.transactions,
            "dossiers_paid_online": self.dossiers_paid_online, "fee_bearing_dossiers": self.fee_bearing_dossiers,
            "procedures_paid_online": self.procedures_paid_online,
            "online_payments_requested": self.online_payments_requested,
            "transactions_online_share": self.transactions_online_share.as_dict(),
            "dossiers_paid_online_share": self.dossiers_paid_online_share.as_dict(),
        }


def distinct_procedures(metrics: Mapping[str, int], name: str) -> int:
    """Procedures whose per-procedure counter `name|procedure=…` is above zero: an exact distinct count at every
    scope, since a parent's counters are its children's, summed as they are written."""
    return len({metric.label("procedure") for metric, value in parsed(metrics) if metric.name == name and value > 0})


def payment_figures(metrics: Mapping[str, int]) -> PaymentFigures:
    """From the counters summed over the period: distinct procedures are those whose per-procedure counter is above
    zero, so the figure is exact at every scope (a parent's counters are its children's, summed as they are written)."""
    online = total = paid_dossiers = fee_bearing = requested = 0
    for metric, value in parsed(metrics):
        if metric.name == PAYMENT:
            total += value
            online += value if metric.label("via") == "online" else 0
        elif metric.name == PAID_ONLINE_DOSSIER:
            paid_dossiers += value
        elif metric.name == PAYMENT_REQUESTED:
            requested += value
        elif metric.name == FEE_BEARING:
            fee_bearing += value
    return PaymentFigures(online, total, paid_dossiers, fee_bearing,
                          distinct_procedures(metrics, PAID_ONLINE_PROCEDURE), requested)


# --- the postal service ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostalFigures:
    """The postal channel: dossiers received by post (channel 3: picked up, or handed in at a post office), results
    returned by post, shipments asked for and delivered by kind, deliveries late against their J+n day, and parcels
    returned to sender. Each is the same whatever order the partner's callbacks came in."""

    received_by_post: int
    results_returned_by_post: int
    shipments_requested: dict[str, int]
    deliveries: dict[str, int]
    deliveries_late: int
    returned_to_sender: int

    @property
    def late_share(self) -> Ratio:
        return Ratio(self.deliveries_late, sum(self.deliveries.values()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "received_by_post": self.received_by_post, "results_returned_by_post": self.results_returned_by_post,
            "shipments_requested": self.shipments_requested, "deliveries": self.deliveries,
            "deliveries_late": self.deliveries_late, "returned_to_sender": self.returned_to_sender,
            "late_share": self.late_share.as_dict(),
        }


def postal_figures(metrics: Mapping[str, int]) -> PostalFigures:
    received = returned = late = sent_back = 0
    requested = {"pickup": 0, "return": 0}
    delivered = {"pickup": 0, "return": 0}
    for metric, value in parsed(metrics):
        kind = metric.label("kind") or ""
        if metric.name == RECEIVED and metric.label("channel") == Channel.POSTAL.value:
            received += value
        elif metric.name == "returned" and metric.label("via") == ResultDelivery.POST.value:
            returned += value
        elif metric.name == SHIPMENT_REQUESTED and kind in requested:
            requested[kind] += value
        elif metric.name == SHIPMENT_DELIVERED and kind in delivered:
            delivered[kind] += value
            late += value if metric.label("late") == "true" else 0
        elif metric.name == SHIPMENT_RETURNED:
            sent_back += value
    return PostalFigures(received, returned, requested, delivered, late, sent_back)


# --- index 2.1: the on-time share ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnTimeFigures:
    """The index's 2.1 (Decision 766/QĐ-TTg; its formula in ChippedTopaz/qd766 `web/src/formula-document.ts`):
    "Số lượng hồ sơ đã và đang xử lý đúng hạn hoặc trong hạn trong kỳ / Tổng số hồ sơ được tiếp nhận, xử lý trong kỳ".

    `received`: dossiers received in the period (every channel; one `DossierReceived` each). `finished_*`: received
    dossiers whose processing ended in the period, by verdict. `unfinished_*`: dossiers still open at the end of the
    period, judged then ("lấy ngày cuối kỳ báo cáo là ngày kết thúc xử lý"), from the month-end snapshot of the
    period's last month; `period_closed` is False until that snapshot is written (the share is then provisional:
    finished dossiers only in its numerator).
    """

    received: int
    finished_on_time: int
    finished_late: int
    unfinished_within_time: int
    unfinished_late: int
    period_closed: bool

    @property
    def share(self) -> Ratio:
        """(finished on time + unfinished within time) / received in the period."""
        return Ratio(self.finished_on_time + self.unfinished_within_time, self.received)

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "finished_on_time": self.finished_on_time, "finished_late": self.finished_late,
                "unfinished_within_time": self.unfinished_within_time, "unfinished_late": self.unfinished_late,
                "period_closed": self.period_closed}


def on_time_figures(period: Mapping[str, int], closing_month: Mapping[str, int]) -> OnTimeFigures:
    """From the counters summed over the period's months, and those of its last month (which hold the snapshot)."""
    lifecycle = lifecycle_figures(period).counts
    unfinished = {"true": 0, "false": 0}
    closed = False
    for metric, value in parsed(closing_month):
        if metric.name == UNFINISHED and metric.label("on_time") in unfinished:
            unfinished[metric.label("on_time") or ""] += value
        closed = closed or (metric.name == PERIOD_CLOSED and value > 0)
    return OnTimeFigures(
        received=lifecycle[RECEIVED], finished_on_time=lifecycle["finished_on_time"],
        finished_late=lifecycle["finished_late"], unfinished_within_time=unfinished["true"],
        unfinished_late=unfinished["false"], period_closed=closed,
    )


def month_end(month: str) -> datetime:
    """The last instant of `month` ("YYYY-MM") in Vietnam time: when its unfinished dossiers are judged."""
    year, number = (int(part) for part in month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return datetime.combine(following, time(0), tzinfo=VN_TZ) - timedelta(microseconds=1)


def unfinished_at_month_end(dossier: Dossier, month: str, calendar: WorkingCalendar) -> dict[str, Deltas]:
    """What the month-end snapshot adds for one open dossier: `unfinished|on_time=true|false` at its agency and each
    ancestor, for `month`, judged at the month's end; keyed by `period-end:{month}:{dossier id}` so a rerun counts it
    once. Nothing for a dossier not received by then (it is not judged), or finished by then."""
    end = month_end(month)
    if dossier.received_at is None or dossier.received_at > end or (dossier.finished_at and dossier.finished_at <= end):
        return {}
    within = not is_late(judge(clock_facts(dossier), end, calendar))
    metric = Metric.of(UNFINISHED, on_time=label_value(within) or "")
    deltas: Deltas = Counter({CounterKey(agency_scope(code), month, metric): 1 for code in dossier.agency_path})
    return {f"period-end:{month}:{dossier.id}": deltas}


def month_closed(agency_code: str, month: str) -> dict[str, Deltas]:
    """The marker that the month-end snapshot of the agency's own open dossiers is written (read by its reports)."""
    key = CounterKey(agency_scope(agency_code), month, Metric.of(PERIOD_CLOSED))
    return {f"period-closed:{month}:{agency_code}": Counter({key: 1})}
