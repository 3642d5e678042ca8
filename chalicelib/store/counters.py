"""Compliance counters: exactly-once application of each event's deltas, and the reads reports make.

What an event adds is the domain's (`domain.counting.fold`); this store only applies it. Each event is counted
once however often it arrives: a marker item `EVENT#{id}` is written in the same transaction as the counter
increments it contributes to, on condition that it does not exist yet.
A transaction holds at most 100 actions, so a batch is applied in as few transactions as fit, each
carrying its events' markers and one increment per counter the events touch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.counting import ApplyStats, CounterKey, Deltas
from chalicelib.store.errors import storage_errors, translate
from chalicelib.store.models import AppliedEventModel, CounterModel

MAX_TRANSACTION_ACTIONS = 100
MARKER_TTL = timedelta(days=400)  # longer than SQS retention and the archive replay window we support


def counter_pk(scope: str, period: str) -> str:
    return f"{scope}#{period}"


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
        pending = [(event_id, d) for event_id, d in ledger.items() if event_id not in done]
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
                counter = CounterModel(counter_pk(key.scope, key.period), str(key.metric))
                transaction.update(counter, actions=[CounterModel.value.add(amount)])

    @staticmethod
    def read(scope: str, periods: Iterable[str]) -> dict[str, int]:
        """Metric (as stored: `Metric`'s text) → value summed over the periods; one query per month."""
        sums: Counter[str] = Counter()
        with storage_errors():
            for period in periods:
                for item in CounterModel.query(counter_pk(scope, period)):
                    sums[item.sk] += int(item.value)
        return dict(sums)
