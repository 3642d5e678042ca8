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
from datetime import UTC, datetime, timedelta
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


class CounterTable:
    """A table of counters in this layout, read and written whole: the live table (`CounterStore` adds what events
    add) or the shadow table a rebuild writes its recount to (`keep_for`: each item expires that long after)."""

    def __init__(self, model: type[CounterModel] = CounterModel, *, keep_for: timedelta | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._model = model
        self._keep_for = keep_for
        self._clock = now
        # The shadow is read back right after it is written (the rebuild compares what it stored): strongly consistent
        # reads, or DynamoDB may answer from a replica that has not seen the write. Reports read the live table
        # eventually consistent, at half the price: an increment a second old may be missing, as it may be in flight.
        self._consistent = keep_for is not None

    def _item(self, scope: str, period: str, metric: str, value: int) -> CounterModel:
        item = self._model(scope, counter_sk(period, metric), value=value)
        if self._keep_for is not None:  # the shadow's items expire (`ShadowCounterModel.expires_at`)
            item.expires_at = int((self._clock() + self._keep_for).timestamp())
        return item

    def put_totals(self, totals: Deltas) -> int:
        """Write each month's counter as given (not added to), and then each touched year's rollup as the sum of that
        year's months as stored: what a recount or a seeded history sets, into a table no consumer is writing to at
        the same time. Markers are not written, so events counted this way would be counted again if they arrived.
        Returns the items written."""
        years: set[tuple[str, str]] = set()
        with storage_errors(), self._model.batch_write() as batch:
            for key, amount in sorted(totals.items()):
                batch.save(self._item(key.scope, key.period, str(key.metric), amount))
                years.add((key.scope, year_of(key.period)))
        written = len(totals)
        for scope, year in sorted(years):
            # the months just written: a strongly consistent read, or the rollup could miss them
            sums = self._query_months(scope, [f"{year}-{m:02d}" for m in range(1, MONTHS_IN_YEAR + 1)], consistent=True)
            with storage_errors(), self._model.batch_write() as batch:
                for metric, value in sorted(sums.items()):
                    batch.save(self._item(scope, year, metric, value))
            written += len(sums)
        return written

    def replace(self, scope: str, months: Sequence[str], totals: Deltas) -> int:
        """The scope's counters of `months` (and its rollups of their years) become exactly `totals`' for that scope:
        what a rebuild writes to the shadow table, so a metric an earlier rebuild wrote and this one did not is gone.
        Returns the items written."""
        years = sorted({year_of(month) for month in months})
        stale = [*self._query(scope, self._model.sk.between(f"{min(months)}#", f"{max(months)}{PERIOD_END}"))]
        for year in years:
            stale.extend(self._query(scope, self._model.sk.startswith(f"{year}#")))
        wanted = set(months)
        with storage_errors(), self._model.batch_write() as batch:
            for period, metric, _ in stale:
                if period in wanted or period in years:
                    batch.delete(self._model(scope, counter_sk(period, metric)))
        return self.put_totals(Counter({key: value for key, value in totals.items()
                                        if key.scope == scope and key.period in wanted}))

    def _query(self, scope: str, condition: Any, consistent: bool = False) -> Iterator[tuple[str, str, int]]:
        """(period, metric, value) of the scope's counters whose sort key meets `condition`, as DynamoDB pages them."""
        with storage_errors():
            for item in self._model.query(scope, condition, consistent_read=consistent or self._consistent):
                period, _, metric = item.sk.partition("#")
                yield period, metric, int(item.value)

    def _query_months(self, scope: str, months: Sequence[str], consistent: bool = False) -> Counter[str]:
        """The sum over `months` of the scope's month counters: one range query from the first to the last."""
        wanted = set(months)
        span = self._model.sk.between(f"{min(months)}#", f"{max(months)}{PERIOD_END}")
        sums: Counter[str] = Counter()
        for period, metric, value in self._query(scope, span, consistent):
            if period in wanted:
                sums[metric] += value
        return sums

    def read(self, scope: str, periods: Iterable[str]) -> dict[str, int]:
        """Metric (as stored: `Metric`'s text) → value summed over the months `periods`: each whole calendar year
        among them from its rollup (one item per metric), the other months by one range query."""
        by_year: dict[str, list[str]] = {}
        for month in sorted(set(periods)):
            by_year.setdefault(year_of(month), []).append(month)
        sums: Counter[str] = Counter()
        partial: list[str] = []
        for year, in_year in by_year.items():
            if len(in_year) == MONTHS_IN_YEAR:
                sums.update({metric: value for _, metric, value in
                             self._query(scope, self._model.sk.startswith(f"{year}#"))})
            else:
                partial.extend(in_year)
        if partial:
            sums.update(self._query_months(scope, partial))
        return dict(sums)


class CounterStore(CounterTable):
    """The live counters: what the counters consumer applies, exactly once per event, and reports read."""

    def __init__(self, connection: Connection, now: Callable[[], datetime]) -> None:
        super().__init__(CounterModel)
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
