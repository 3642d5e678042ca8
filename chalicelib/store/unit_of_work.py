"""The unit of work: a command's writes gathered and committed as one `TransactWriteItems`.

A dossier, its history entry, its outbox events and any remembered idempotent response land together
or not at all. Failed conditions are translated into domain errors here, by which item failed, never
by reading messages; every other failure (throttling, an unreachable table) by `store.errors`, as in the reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.catalogue import Catalogue
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import (
    AlreadyRecordedError,
    IdempotencyKeyRaceError,
    TransactionConflictError,
    VersionConflictError,
)
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.history import HistoryEntry
from chalicelib.domain.idempotency import IDEMPOTENCY_TTL, RememberedResponse
from chalicelib.store import dossiers as dossier_items
from chalicelib.store.errors import storage_errors, translate
from chalicelib.store.models import DossierModel, IdempotencyModel, OutboxModel, SequenceModel


@dataclass
class _Write:
    label: str
    item: Model
    condition: Any = None


@dataclass
class DynamoUnitOfWork:
    connection: Connection  # one per container: building a botocore client per commit costs ~50 ms
    catalogue: Catalogue
    _writes: list[_Write] = field(default_factory=list)

    # reads -----------------------------------------------------------------------------------------
    def get_dossier(self, dossier_id: str) -> Dossier | None:
        return dossier_items.get(dossier_id)

    def remembered(self, owner_id: str, key: str) -> RememberedResponse | None:
        with storage_errors():
            try:
                item = IdempotencyModel.get(_idempotency_pk(owner_id, key), "IDEMPOTENCY")
            except IdempotencyModel.DoesNotExist:
                return None
        return RememberedResponse(item.request_hash, int(item.status_code), item.response)

    def next_sequence(self, agency_code: str, day: date) -> int:
        """Atomically take the agency's next number for the day. A number taken by a command that then
        fails is never reused: codes stay unique, and a gap is the price (the national rule allows it)."""
        item = SequenceModel(f"SEQ#{agency_code}#{day:%y%m%d}", "SEQ")
        with storage_errors():
            item.update(actions=[SequenceModel.value.add(1)])
        return int(item.value)

    # writes ----------------------------------------------------------------------------------------
    def add_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        item = dossier_items.to_item(dossier)
        self._writes.append(_Write("dossier", item, DossierModel.pk.does_not_exist()))
        self._record_history_and_events(dossier, entry)

    def update_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        """Save a changed dossier on condition that its version is still the one it was read at."""
        self._writes.append(_Write("dossier", dossier_items.to_item(dossier)))
        self._record_history_and_events(dossier, entry)

    def add_watch_event(self, dossier_id: str, key: str, event: DomainEvent) -> None:
        """An event about a dossier that changes nothing in it (a deadline warning), once per `key`."""
        item = dossier_items.outbox_item(dossier_id, 0, 0, event)
        item.sk = f"OUTBOX#WATCH#{key}"
        self._writes.append(_Write("watch", item, OutboxModel.sk.does_not_exist()))

    def _record_history_and_events(self, dossier: Dossier, entry: HistoryEntry) -> None:
        self._writes.append(_Write("history", dossier_items.history_item(dossier.id, entry)))
        for position, event in enumerate(dossier.events):
            self._writes.append(_Write("outbox", dossier_items.outbox_item(dossier.id, entry.version, position, event)))
        dossier.events.clear()

    def remember(self, owner_id: str, key: str, response: RememberedResponse, now: datetime) -> None:
        item = IdempotencyModel(
            _idempotency_pk(owner_id, key),
            "IDEMPOTENCY",
            request_hash=response.request_hash,
            status_code=response.status_code,
            response=response.body,
            expires_at=int((now + IDEMPOTENCY_TTL).timestamp()),
        )
        self._writes.append(_Write("idempotency", item, IdempotencyModel.pk.does_not_exist()))

    def commit(self) -> None:
        writes, self._writes = self._writes, []
        if not writes:
            return
        try:
            with TransactWrite(connection=self.connection) as transaction:
                for write in writes:
                    transaction.save(write.item, condition=write.condition)
        except TransactWriteError as exc:
            failed = [
                write.label
                for write, reason in zip(writes, exc.cancellation_reasons, strict=False)
                if reason and reason.code == "ConditionalCheckFailed"
            ]
            if "watch" in failed:
                raise AlreadyRecordedError("this warning was recorded before") from exc
            if "idempotency" in failed:
                raise IdempotencyKeyRaceError("same Idempotency-Key committed concurrently") from exc
            if "dossier" in failed:
                raise VersionConflictError(
                    "Hồ sơ đã bị thay đổi bởi người khác; vui lòng tải lại. (The dossier changed meanwhile.)"
                ) from exc
            if any(reason and reason.code == "TransactionConflict" for reason in exc.cancellation_reasons):
                raise TransactionConflictError(  # another transaction held an item at that instant: retry as is
                    "Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)"
                ) from exc
            raise translate(exc) from exc  # throttled, or the service failed: the whole transaction did not happen


def _idempotency_pk(owner_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{owner_id}#{key}"
