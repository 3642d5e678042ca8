"""Use cases of payments: ask to pay online, settle what a gateway reports exactly once (its callback, or its answer
to a query), record money taken at the desk, and reconcile the payments whose callback never came.

Exactly once: a report is applied in one transaction that saves the payment on condition of the version it was read
at, the dossier likewise, and the payment's receipt on condition that none of its number exists. Racing duplicates
lose that transaction, read again, find the payment settled and are answered "already confirmed"; a process that
dies between the commit and its reply leaves the payment settled, so the gateway's retry is answered the same way.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain import access, payments
from chalicelib.domain.errors import (
    AlreadyRecordedError,
    ConflictError,
    TransactionConflictError,
    UpstreamUnavailableError,
    VersionConflictError,
    dossier_not_found,
)
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.payments import (
    PAYMENT_TTL,
    SWEEP_AFTER,
    SYSTEM,
    GatewayName,
    Outcome,
    Payment,
    PaymentMethod,
    PaymentOrder,
    PaymentStatus,
    SettleResult,
)
from chalicelib.integrations.payment_gateway import MalformedCallbackError, PaymentGateway, SignatureError
from chalicelib.services.ports import PaymentReader, UnitOfWork

ATTEMPTS = 6
"""Commits tried when racing writers (duplicate callbacks, a second tab) keep winning; then the caller retries."""

RECONCILE_BATCH = 200
"""Pending payments asked about per gateway and run: the oldest first, the rest on the next run."""


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * 2**attempt))


@dataclass(frozen=True)
class Requested:
    payment: Payment
    created: bool  # False: the dossier's pending payment, returned again


def request_payment(dossier_id: str, gateway: PaymentGateway, new_uow: Callable[[], UnitOfWork], *, actor: Actor,
                    now: datetime, new_id: Callable[[], str], client_ip: str,
                    request_id: str | None = None) -> Requested:
    """The dossier's pending online payment if it has one still valid, else a new one of what it owes."""
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier = uow.get_dossier(dossier_id)
        if dossier is None:
            raise dossier_not_found(dossier_id)
        access.authorise_online_payment(actor, dossier)
        if dossier.pending_txn_ref is not None:
            _, pending = uow.read_payment(dossier.id, dossier.pending_txn_ref)
            if pending is not None and pending.status is PaymentStatus.PENDING and (
                    pending.valid_until is None or pending.valid_until > now):
                return Requested(pending, created=False)
        status = dossier.status.value
        payment = payments.request_online_payment(dossier, gateway.name, actor, now=now, payment_id=new_id(),
                                                  event_id=new_id())
        assert payment.valid_until is not None
        payment.payment_url = gateway.payment_url(PaymentOrder(
            payment.txn_ref, payment.amount, payments.order_description(dossier.code), now, payment.valid_until,
            client_ip,
        ))
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now, actor=actor, action="request_payment", from_status=status,
            to_status=dossier.status.value, note=f"{payment.amount} VND, {gateway.name.value}", request_id=request_id,
        ))
        uow.add_payment(payment)
        try:
            uow.commit()
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)  # another request changed the dossier: it may have made the pending payment
            continue
        return Requested(payment, created=True)
    raise TransactionConflictError("Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)")


def settle_callback(gateway: PaymentGateway, params: Mapping[str, str], new_uow: Callable[[], UnitOfWork], *,
                    now: datetime, new_id: Callable[[], str]) -> SettleResult:
    """A gateway's callback, verified and then settled; the result is what the gateway's protocol replies."""
    try:
        report = gateway.verify_callback(params)
    except SignatureError:
        return SettleResult.SIGNATURE_INVALID
    except MalformedCallbackError:
        return SettleResult.ERROR
    return settle_report(report, gateway.name, new_uow, now=now, new_id=new_id)


_HISTORY_ACTION = {
    PaymentStatus.SUCCEEDED: "payment_succeeded",
    PaymentStatus.FAILED: "payment_failed",
    PaymentStatus.AMOUNT_MISMATCH: "payment_amount_mismatch",
}


def settle_report(report: payments.GatewayReport, gateway: GatewayName, new_uow: Callable[[], UnitOfWork], *,
                  now: datetime, new_id: Callable[[], str]) -> SettleResult:
    """Apply a verified report to the payment it names, exactly once."""
    dossier_id = payments.dossier_of(report.txn_ref)
    if dossier_id is None:
        return SettleResult.NOT_FOUND
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier, payment = uow.read_payment(dossier_id, report.txn_ref)
        if dossier is None or payment is None or payment.gateway != gateway.value:
            return SettleResult.NOT_FOUND
        status = dossier.status.value
        settlement = payments.settle(payment, report, now)
        if not settlement.changed:
            return settlement.result
        payments.apply_settlement(dossier, payment, settlement, now=now, event_id=new_id())
        mismatch = payment.status is PaymentStatus.AMOUNT_MISMATCH
        note = (f"Cổng thanh toán báo {report.amount} VND, khác số phải nộp {payment.amount} VND "
                f"({report.txn_ref}); cần kiểm tra." if mismatch else f"{payment.amount} VND, {gateway.value}, "
                f"mã {report.response_code}")
        uow.update_payment(payment)
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now, actor=SYSTEM, action=_HISTORY_ACTION[payment.status],
            from_status=status, to_status=dossier.status.value, note=note, internal=mismatch,
        ))
        if settlement.succeeded_now:
            uow.add_receipt(payment)
        try:
            uow.commit()
        except AlreadyRecordedError:
            return SettleResult.ALREADY_CONFIRMED
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)  # a duplicate settled it, or an officer changed the dossier: read again
            continue
        return settlement.result
    return SettleResult.ERROR  # the gateway retries later, and finds it settled or settles it then


def record_desk_payment(dossier_id: str, new_uow: Callable[[], UnitOfWork], *, actor: Actor, amount: int,
                        method: PaymentMethod, receipt_number: str, now: datetime, new_id: Callable[[], str],
                        request_id: str | None = None) -> Payment:
    """Money an officer took at the desk against receipt `receipt_number`; the same receipt twice is refused."""
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier = uow.get_dossier(dossier_id)
        if dossier is None:
            raise dossier_not_found(dossier_id)
        status = dossier.status.value
        payment = payments.record_desk_payment(dossier, actor, amount=amount, method=method,
                                               receipt_number=receipt_number, now=now, payment_id=new_id(),
                                               event_id=new_id())
        uow.add_payment(payment)
        uow.add_receipt(payment)
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now, actor=actor, action="desk_payment", from_status=status,
            to_status=dossier.status.value, note=f"{amount} VND, {method.value}, biên lai {receipt_number}",
            request_id=request_id,
        ))
        try:
            uow.commit()
        except AlreadyRecordedError as exc:
            raise ConflictError(f"Biên lai {receipt_number} đã được ghi nhận cho hồ sơ này. "
                                "(This receipt was recorded before.)", code="RECEIPT_ALREADY_RECORDED") from exc
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)
            continue
        return payment
    raise TransactionConflictError("Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)")


def reconcile(reader: PaymentReader, gateways: Mapping[GatewayName, PaymentGateway],
              new_uow: Callable[[], UnitOfWork], *, now: datetime, new_id: Callable[[], str],
              older_than: timedelta = PAYMENT_TTL, limit: int = RECONCILE_BATCH) -> dict[str, int]:
    """Ask each gateway about the payments pending at it for longer than `older_than` (by default, as long as a
    payment URL lives: the applicant may still be paying before that), and settle them as
    their callback would have; give up those still unpaid after `SWEEP_AFTER` (a late success still settles them).
    Returns what it did, by outcome."""
    done: Counter[str] = Counter()
    for name, gateway in gateways.items():
        for payment in reader.pending(name.value, now - older_than, limit):
            done["asked"] += 1
            order = PaymentOrder(payment.txn_ref, payment.amount, payments.order_description(payment.txn_ref),
                                 payment.requested_at, payment.valid_until or payment.requested_at + PAYMENT_TTL,
                                 "127.0.0.1")
            try:
                report = gateway.query(order, now)
            except (UpstreamUnavailableError, SignatureError, MalformedCallbackError):
                done["unanswered"] += 1
                continue
            if report.outcome in (Outcome.SUCCEEDED, Outcome.FAILED):
                done[str(settle_report(report, name, new_uow, now=now, new_id=new_id))] += 1
            elif now - payment.requested_at > SWEEP_AFTER:
                done["expired" if _expire(payment, new_uow, now) else "changed"] += 1
            else:
                done["still_pending"] += 1
    return dict(done)


def _expire(payment: Payment, new_uow: Callable[[], UnitOfWork], now: datetime) -> bool:
    uow = new_uow()
    _, current = uow.read_payment(payment.dossier_id, payment.txn_ref)
    if current is None or not payments.expire(current, now):
        return False
    uow.update_payment(current)
    try:
        uow.commit()
    except (VersionConflictError, TransactionConflictError):
        return False  # settled meanwhile
    return True
