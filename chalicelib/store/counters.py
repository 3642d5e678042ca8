"""Compliance counters: exactly-once application of each event's deltas, and the reads reports make.

What an event adds is the domain's (`domain.counting.fold`); this store only applies it. Each event is counted
once however often it arrives: a marker item `EVENT#{id}` is written in the same transaction as the counter
increments it contributes to, on condition that it does not exist yet.

A counter is the item `{scope} / {YYYY-MM}#{metric}`: one partition per scope, its months in order, so a report reads
any run of months of one agency in a single query rather than one per month. Beside each month's counter the same
transaction adds to its year's, `{scope} / {YYYY}#{metric}` (the year rollup): a year's report reads one item per
metric instead of twelve, which is what keeps a province-year ranking under a second (`make bench`); it costs a second
increment per counter a batch touches. The rollup is the store's: the domain's fold and every reader see months.
A transaction holds at most 100 actions, so a batch is applied in as few transactions as fit, each
carrying its events' markers and one increment per counter the events touch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.counting import ApplyStats, CounterKey, Deltas
from chalicelib.store.errors import storage_errors, translate
from chalicelib.store.models import AppliedEventModel, CounterModel

MAX_TRANSACTION_ACTIONS = 100
MARKER_TTL = timedelta(days=400)  # longer than SQS retention and the archive replay window we support


def counter_sk(period: str, metric: str) -> str:
    return f"{period}#{metric}"


PERIOD_END = "$"  # the character after "#": `{month}#…` < `{month}$` for every metric, so a range query ends there
MONTHS_IN_YEAR = 12


def year_of(month: str) -> str:
    return month[:4]


def with_year_rollups(deltas: Deltas) -> Deltas:
    """The deltas and, for each month's counter, the same amount for its year's."""
    out = Counter(deltas)
    for key, amount in deltas.items():
        out[CounterKey(key.scope, year_of(key.period), key.metric)] += amount
    return out


def marker_pk(event_id: str) -> str:
    return f"EVENT#{event_id}"


def already_applied(event_ids: Iterable[str]) -> set[str]:
    keys = [(marker_pk(event_id), "APPLIED") for event_id in set(event_ids)]
    with storage_errors():
        return {item.pk.removeprefix("EVENT#") for item in AppliedEventModel.batch_get(keys)}


def plan_chunks(events: Sequence[tuple[str, Counter[CounterKey]]]) -> list[list[tuple[str, Counter[CounterKey]]]]:
    """Group events so each transaction's markers plus distinct counters stay within the action limit."""
    chunks: list[list[tuple[str, Counter[CounterKey]]]] = []
    current: list[tuple[str, Counter[CounterKey]]] = []
    touched: set[CounterKey] = set()
    for event_id, event_deltas in events:
        grown = touched | set(event_deltas)
        if current and len(current) + 1 + len(grown) > MAX_TRANSACTION_ACTIONS:
            chunks.append(current)
            current, grown = [], set(event_deltas)
        current.append((event_id, event_deltas))
        touched = grown
    if current:
        chunks.append(current)
    return chunks


class CounterStore:
    def __init__(self, connection: Connection, now: Callable[[], datetime]) -> None:
        self._connection = connection
        self._now = now

    def apply(self, ledger: Mapping[str, Deltas]) -> ApplyStats:
        """Add each event's deltas (by event id) unless that event was counted before; safe to call again with any
        of the same events."""
        stats = ApplyStats()
        done = already_applied(ledger)
        stats.events_skipped += len(done)
        pending = [(event_id, with_year_rollups(d)) for event_id, d in ledger.items() if event_id not in done]
        for chunk in plan_chunks(pending):
            self._apply_chunk(chunk, stats)
        return stats

    def _apply_chunk(self, chunk: list[tuple[str, Counter[CounterKey]]], stats: ApplyStats) -> None:
        while chunk:
            total: Counter[CounterKey] = Counter()
            for _, event_deltas in chunk:
                total.update(event_deltas)
            try:
                self._transact(chunk, total)
            except TransactWriteError as exc:
                # Another consumer counted some of these meanwhile (a concurrent redelivery): drop those
                # events and try the rest; any other failure propagates so the batch is retried.
                lost = {
                    chunk[i][0]
                    for i, reason in enumerate(exc.cancellation_reasons[: len(chunk)])
                    if reason and reason.code == "ConditionalCheckFailed"
                }
                if not lost:
                    raise translate(exc) from exc
                stats.events_skipped += len(lost)
                chunk = [entry for entry in chunk if entry[0] not in lost]
                continue
            stats.transactions += 1
            stats.applied_ids.update(event_id for event_id, _ in chunk)
            stats.events_applied += len(chunk)
            stats.marker_writes += len(chunk)
            stats.counter_writes += len(total)
            return

    def _transact(self, chunk: list[tuple[str, Counter[CounterKey]]], total: Counter[CounterKey]) -> None:
        expires_at = int((self._now() + MARKER_TTL).timestamp())
        with TransactWrite(connection=self._connection) as transaction:
            for event_id, _ in chunk:
                marker = AppliedEventModel(marker_pk(event_id), "APPLIED", expires_at=expires_at)
                transaction.save(marker, condition=AppliedEventModel.pk.does_not_exist())
            for key, amount in sorted(total.items()):
                counter = CounterModel(key.scope, counter_sk(key.period, str(key.metric)))
                transaction.update(counter, actions=[CounterModel.value.add(amount)])

    @classmethod
    def put_totals(cls, totals: Deltas) -> int:
        """Write each month's counter as given (not added to), and then each touched year's rollup as the sum of that
        year's months as stored: what a recount or a seeded history sets, into a table no consumer is writing to at
        the same time. Markers are not written, so events counted this way would be counted again if they arrived.
        Returns the items written."""
        years: dict[tuple[str, str], set[str]] = {}
        with storage_errors(), CounterModel.batch_write() as batch:
            for key, amount in sorted(totals.items()):
                batch.save(CounterModel(key.scope, counter_sk(key.period, str(key.metric)), value=amount))
                years.setdefault((key.scope, year_of(key.period)), set())
        written = len(totals)
        for (scope, year) in sorted(years):
            months = [f"{year}-{m:02d}" for m in range(1, MONTHS_IN_YEAR + 1)]
            sums = cls._query_months(scope, months)
            with storage_errors(), CounterModel.batch_write() as batch:
                for metric, value in sorted(sums.items()):
                    batch.save(CounterModel(scope, counter_sk(year, metric), value=value))
            written += len(sums)
        return written

    @staticmethod
    def _query(scope: str, condition: Any) -> Iterator[tuple[str, str, int]]:
        """(period, metric, value) of the scope's counters whose sort key meets `condition`, as DynamoDB pages them."""
        with storage_errors():
            for item in CounterModel.query(scope, condition):
                period, _, metric = item.sk.partition("#")
                yield period, metric, int(item.value)

    @classmethod
    def _query_months(cls, scope: str, months: Sequence[str]) -> Counter[str]:
        """The sum over `months` (consecutive) of the scope's month counters: one range query."""
        wanted = set(months)
        span = CounterModel.sk.between(f"{min(months)}#", f"{max(months)}{PERIOD_END}")
        sums: Counter[str] = Counter()
        for period, metric, value in cls._query(scope, span):
            if period in wanted:
                sums[metric] += value
        return sums

    @classmethod
    def read(cls, scope: str, periods: Iterable[str]) -> dict[str, int]:
        """Metric (as stored: `Metric`'s text) → value summed over the months `periods`: each whole calendar year
        among them from its rollup (one item per metric), the other months by one range query per run of months."""
        months = sorted(set(periods))
        by_year: dict[str, list[str]] = {}
        for month in months:
            by_year.setdefault(year_of(month), []).append(month)
        sums: Counter[str] = Counter()
        partial: list[str] = []
        for year, in_year in by_year.items():
            if len(in_year) == MONTHS_IN_YEAR:
                sums.update({metric: value for _, metric, value in
                             cls._query(scope, CounterModel.sk.startswith(f"{year}#"))})
            else:
                partial.extend(in_year)
        if partial:
            sums.update(cls._query_months(scope, partial))
        return dict(sums)
