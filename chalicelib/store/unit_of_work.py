"""The unit of work: a command's writes gathered and committed as one `TransactWriteItems`.

A dossier, its history entry, its outbox events and any remembered idempotent response land together
or not at all; a submission's number too: the unit of work guesses it from what the container knows
(`store.sequences`) and the transaction sets the agency's day sequence to it on condition that it held the number
before (or takes it from a block the container reserved that way), so a submission is one round trip in the common
case. Failed conditions are translated into domain errors here, by which item failed, never by reading messages;
every other failure (throttling, an unreachable table) by `store.errors`, as in the reads.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactGet

from chalicelib.domain.catalogue import Catalogue
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import (
    AlreadyRecordedError,
    IdempotencyKeyRaceError,
    SequenceTakenError,
    TransactionConflictError,
    VersionConflictError,
)
from chalicelib.domain.events import DomainEvent, iso_utc
from chalicelib.domain.history import HistoryEntry
from chalicelib.domain.idempotency import IDEMPOTENCY_TTL, RememberedResponse
from chalicelib.domain.payments import Payment
from chalicelib.store import dossiers as dossier_items
from chalicelib.store import payments as payment_items
from chalicelib.store import transact
from chalicelib.store.errors import storage_errors, translate
from chalicelib.store.models import (
    DossierModel,
    HistoryModel,
    IdempotencyModel,
    OutboxModel,
    PaymentModel,
    PostalCallbackModel,
    ReceiptModel,
    SequenceModel,
)
from chalicelib.store.postal import unmatched_pk
from chalicelib.store.sequences import GUESSES, Claim, SequenceCache, sequence_key

CALLBACK_TTL = timedelta(days=30)
"""How long a partner's `webhook-id` is remembered: partners retry for hours or days, never for weeks."""


@dataclass
class _Write:
    label: str
    request: transact.Request
    update: bool = False  # an Update of some attributes rather than a Put of the whole item
    ref: Any = None  # what the write stands for: a sequence key, (owner, Idempotency-Key)


@dataclass
class DynamoUnitOfWork:
    connection: Connection  # one per container: building a botocore client per commit costs ~50 ms
    catalogue: Catalogue
    sequences: SequenceCache = field(default_factory=SequenceCache)  # the container's, shared by its units of work
    _writes: list[_Write] = field(default_factory=list)
    _lost_guesses: int = 0
    _claim: Claim | None = None  # the number `next_sequence` gave, until the commit uses it or gives it back
    _seen_answers: dict[tuple[str, str], RememberedResponse] = field(default_factory=dict)

    # reads -----------------------------------------------------------------------------------------
    def get_dossier(self, dossier_id: str) -> Dossier | None:
        return dossier_items.get(dossier_id)

    def read_payment(self, dossier_id: str, txn_ref: str) -> tuple[Dossier | None, Payment | None]:
        """A dossier and one of its payments as they stand together: one consistent TransactGetItems."""
        with storage_errors(), TransactGet(connection=self.connection) as reads:
            dossier = reads.get(DossierModel, dossier_items.dossier_pk(dossier_id), "DOSSIER")
            payment = reads.get(PaymentModel, dossier_items.dossier_pk(dossier_id), payment_items.payment_sk(txn_ref))
        try:
            found_dossier = dossier_items.from_item(dossier.get())
        except DossierModel.DoesNotExist:
            return None, None
        try:
            return found_dossier, payment_items.from_item(payment.get())
        except PaymentModel.DoesNotExist:
            return found_dossier, None

    def remembered(self, owner_id: str, key: str) -> RememberedResponse | None:
        seen = self._seen_answers.get((owner_id, key))  # carried by the cancellation that found the key used
        if seen is not None:
            return seen
        with storage_errors():
            try:
                item = IdempotencyModel.get(_idempotency_pk(owner_id, key), "IDEMPOTENCY")
            except IdempotencyModel.DoesNotExist:
                return None
        return RememberedResponse(item.request_hash, int(item.status_code), item.response)

    def next_sequence(self, agency_code: str, day: date) -> int:
        """The agency's next number for the day (`store.sequences`). Commonly a guess (the last number this container
        knows, plus one) that the commit writes on condition that the sequence still holds the one before: no extra
        round trip, and a number is used only by a committed dossier, so sequential submissions get 1, 2, 3 without
        gaps. While other containers take numbers at the agency at a high rate, the same write reserves a block, and
        the block's numbers need no write at all. A lost guess fails the commit with `SequenceTakenError` and the next
        call guesses again; after `GUESSES` lost guesses the block is taken with an atomic ADD outside the
        transaction."""
        key = sequence_key(agency_code, day)
        self._claim = claim = self.sequences.claim(key)
        if claim.reserve_to is None:
            return claim.number  # held by this container: the transaction writes nothing of the sequence
        if self._lost_guesses >= GUESSES:
            size = claim.reserve_to - claim.number + 1
            item = SequenceModel(key, "SEQ")
            with storage_errors():
                item.update(actions=[SequenceModel.value.add(size)])
            self._claim = self.sequences.took(key, int(item.value) - size + 1, int(item.value))
            return self._claim.number
        if self._lost_guesses:  # others are taking numbers at this agency right now: let them pass, out of step
            time.sleep(random.uniform(0, 0.004 * self._lost_guesses))
        held_before = SequenceModel.pk.does_not_exist() if claim.number == 1 else SequenceModel.value == claim.number - 1
        # ALL_OLD: a lost guess brings back the number the sequence holds, so the next guess needs no read
        request = transact.update(SequenceModel, key, "SEQ", [SequenceModel.value.set(claim.reserve_to)], held_before,
                                  "ALL_OLD")
        self._writes.append(_Write("sequence", request, update=True, ref=key))
        return claim.number

    # writes ----------------------------------------------------------------------------------------
    def add_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        values = {**dossier_items.dossier_values(dossier), "version": 1}
        new = DossierModel.pk.does_not_exist() & DossierModel.version.does_not_exist()  # pynamodb's versioning's own
        self._writes.append(_Write("dossier", transact.put(DossierModel, values, new)))
        self._record_history_and_events(dossier, entry)

    def update_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        """Save a changed dossier on condition that its version is still the one it was read at."""
        values = {**dossier_items.dossier_values(dossier), "version": dossier.version + 1}
        self._writes.append(_Write("dossier", transact.put(DossierModel, values, DossierModel.version == dossier.version)))
        self._record_history_and_events(dossier, entry)

    def add_payment(self, payment: Payment) -> None:
        values = {**payment_items.payment_values(payment), "version": 1}
        self._writes.append(_Write("payment", transact.put(PaymentModel, values, PaymentModel.sk.does_not_exist())))

    def update_payment(self, payment: Payment) -> None:
        """Save a changed payment on condition that its version is still the one it was read at."""
        values = {**payment_items.payment_values(payment), "version": payment.version + 1}
        self._writes.append(_Write("payment", transact.put(PaymentModel, values, PaymentModel.version == payment.version)))

    def add_receipt(self, payment: Payment) -> None:
        """The payment's one receipt, on condition that no receipt of that number exists."""
        request = transact.put(ReceiptModel, payment_items.receipt_values(payment), ReceiptModel.sk.does_not_exist())
        self._writes.append(_Write("receipt", request))

    def add_watch_event(self, dossier_id: str, key: str, event: DomainEvent) -> None:
        """An event about a dossier that changes nothing in it (a deadline warning), once per `key`."""
        values = {**dossier_items.outbox_values(dossier_id, 0, 0, event), "sk": f"OUTBOX#WATCH#{key}"}
        self._writes.append(_Write("watch", transact.put(OutboxModel, values, OutboxModel.sk.does_not_exist())))

    def record_callback(self, partner: str, webhook_id: str, *, result: str, code: str, now: datetime,
                        body: dict[str, Any] | None = None) -> None:
        """A partner's callback, once per `webhook-id` (a second commit with it fails `AlreadyRecordedError`); kept
        `CALLBACK_TTL` for deduplication. One with a `body` (it named no shipment of ours) is also listed, for good,
        under the partner for an administrator (`store.postal.DynamoPostalQueue.unmatched`)."""
        received = iso_utc(now)
        once = {"pk": f"POSTAL#{partner}#{webhook_id}", "sk": "CALLBACK", "partner": partner, "result": result,
                "code": code, "received_at": received, "expires_at": int((now + CALLBACK_TTL).timestamp())}
        self._writes.append(_Write("callback", transact.put(PostalCallbackModel, once,
                                                            PostalCallbackModel.pk.does_not_exist())))
        if body is not None:
            kept = {"pk": unmatched_pk(partner), "sk": f"{received}#{webhook_id}", "partner": partner,
                    "result": result, "code": code, "received_at": received, "body": body}
            self._writes.append(_Write("unmatched", transact.put(PostalCallbackModel, kept)))

    def _record_history_and_events(self, dossier: Dossier, entry: HistoryEntry) -> None:
        self._writes.append(_Write("history", transact.put(HistoryModel, dossier_items.history_values(dossier.id, entry))))
        for position, event in enumerate(dossier.events):
            values = dossier_items.outbox_values(dossier.id, entry.version, position, event)
            self._writes.append(_Write("outbox", transact.put(OutboxModel, values)))
        dossier.events.clear()

    def remember(self, owner_id: str, key: str, response: RememberedResponse, now: datetime) -> None:
        values = {
            "pk": _idempotency_pk(owner_id, key),
            "sk": "IDEMPOTENCY",
            "request_hash": response.request_hash,
            "status_code": response.status_code,
            "response": response.body,
            "expires_at": int((now + IDEMPOTENCY_TTL).timestamp()),
        }
        # ALL_OLD: a used key's cancellation carries the remembered answer, so a replay needs no read
        request = transact.put(IdempotencyModel, values, IdempotencyModel.pk.does_not_exist(), "ALL_OLD")
        self._writes.append(_Write("idempotency", request, ref=(owner_id, key)))

    def commit(self) -> None:
        writes, self._writes = self._writes, []
        claim, self._claim = self._claim, None
        if not writes:
            return
        writes.sort(key=lambda write: write.update)  # the connection sends the puts, then the updates
        try:
            self.connection.transact_write_items(
                condition_check_items=(), delete_items=(), put_items=[w.request for w in writes if not w.update],
                update_items=[w.request for w in writes if w.update],
                return_consumed_capacity="NONE",  # pynamodb asks for TOTAL unless told; nothing here reads it
            )
        except TransactWriteError as exc:
            if claim is not None and _cancelled(exc):
                self.sequences.give_back(claim)  # certainly not written (unlike a timeout): a number held stays unused
            reasons = {write.label: reason for write, reason in zip(writes, exc.cancellation_reasons, strict=False)
                       if reason is not None}
            failed = {label for label, reason in reasons.items() if reason.code == "ConditionalCheckFailed"}
            if "idempotency" in failed:  # a replay: nothing was written, so no number was used either
                self._keep_seen_answer(next(w for w in writes if w.label == "idempotency"), reasons["idempotency"])
                raise IdempotencyKeyRaceError("same Idempotency-Key committed concurrently") from exc
            if "sequence" in reasons and reasons["sequence"].code in ("ConditionalCheckFailed", "TransactionConflict"):
                self._lost_guess(next(w for w in writes if w.label == "sequence"), reasons["sequence"])
                raise SequenceTakenError("the dossier number was taken meanwhile") from exc
            if "watch" in failed:
                raise AlreadyRecordedError("this warning was recorded before") from exc
            if "callback" in failed:
                raise AlreadyRecordedError("this callback was applied before") from exc
            if "receipt" in failed:
                raise AlreadyRecordedError("a receipt of this number was issued before") from exc
            if "payment" in failed:
                raise VersionConflictError("Khoản thanh toán đã thay đổi. (The payment changed meanwhile.)") from exc
            if "dossier" in failed:
                raise VersionConflictError(
                    "Hồ sơ đã bị thay đổi bởi người khác; vui lòng tải lại. (The dossier changed meanwhile.)"
                ) from exc
            if any(reason and reason.code == "TransactionConflict" for reason in exc.cancellation_reasons):
                raise TransactionConflictError(  # another transaction held an item at that instant: retry as is
                    "Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)"
                ) from exc
            raise translate(exc) from exc  # throttled, or the service failed: the whole transaction did not happen
        if claim is not None:
            self.sequences.committed(claim)
            self._lost_guesses = 0

    def _lost_guess(self, write: _Write, reason: Any) -> None:
        """Learn the number the sequence holds now: from the cancellation if it carries the item, else one read."""
        self._lost_guesses += 1
        key = write.ref
        if reason.code != "ConditionalCheckFailed":
            self.sequences.lost(key, 0)  # held by another transaction at that instant: the same guess may still win
            return
        if reason.raw_item is not None:
            current = int(reason.raw_item.get("value", {}).get("N", 0))
        else:
            with storage_errors():
                try:
                    current = int(SequenceModel.get(key, "SEQ", consistent_read=True).value)
                except SequenceModel.DoesNotExist:
                    current = 0
        self.sequences.lost(key, current)

    def _keep_seen_answer(self, write: _Write, reason: Any) -> None:
        if reason.raw_item is None:
            return  # the engine did not send it back: `remembered` reads it
        item = IdempotencyModel.from_raw_data(reason.raw_item)
        self._seen_answers[write.ref] = RememberedResponse(item.request_hash, int(item.status_code), item.response)


def _cancelled(exc: TransactWriteError) -> bool:
    """DynamoDB answered that it cancelled the transaction. (pynamodb's `cause_response_code` fails on a cause
    without a response, such as a timeout.)"""
    cause = exc.cause
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def _idempotency_pk(owner_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{owner_id}#{key}"
