"""Fees and payments: what a dossier owes, the payments made against it, and settling what a gateway reports.

A dossier owes its procedure's fee lines (the online amount where the fee law sets a lower one for an online filing;
none of the lines its applicant's kind is exempt from), charged at filing for a full-online procedure filed online
(the fee is paid with the application) or when an officer asks (`request-fees`, national status 6). What it still
owes (`Dossier.fees_due`) is what was charged less what was paid, online or at the desk.

Settling is exactly-once by construction: a payment is confirmed at most once (its status moves only forward:
pending → failed → succeeded, never back from succeeded), the dossier's totals move in the same transaction as the
payment's status, and a report whose amount differs from ours is refused and recorded, never applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from . import access
from .actions import change_event
from .dossier import Dossier
from .errors import ConflictError, RuleViolationError
from .events import NO_PAYLOAD, EventType, Payload, PaymentAttempt, PaymentMade
from .history import Actor
from .lifecycle import Action, next_status
from .vocabulary import Status

PAYMENT_TTL = timedelta(minutes=15)
"""How long a payment URL stays valid at the gateway (`vnp_ExpireDate`); an older pending payment is reconciled."""

SWEEP_AFTER = timedelta(hours=24)
"""A payment still pending after this, and unknown or pending at its gateway, is given up as expired (daily sweep)."""

CLOSED_TO_PAYMENT = frozenset({Status.NOT_RECEIVED, Status.WITHDRAWN, Status.STOPPED})
"""Dossiers that will not be processed: nothing more is charged or paid online."""


class GatewayName(StrEnum):
    VNPAY = "vnpay"
    PAYGOV = "paygov"


class PaymentMethod(StrEnum):
    ONLINE = "online"  # through a gateway
    CASH = "cash"  # at the desk
    CARD = "card"  # at the desk, on a card terminal


class PaymentStatus(StrEnum):
    PENDING = "pending"  # sent to the gateway, no verdict yet
    FAILED = "failed"  # the gateway said it failed (it may still succeed later: a retry on the same order)
    SUCCEEDED = "succeeded"  # final
    EXPIRED = "expired"  # given up by the daily sweep; a late success still counts
    AMOUNT_MISMATCH = "amount_mismatch"  # a report with another amount: refused, for an officer to look into


@dataclass(frozen=True)
class PaymentOrder:
    """An order to pay `amount` VND (whole dong) under our reference `txn_ref`; instants in UTC."""

    txn_ref: str  # ASCII letters and digits, unique across all our orders
    amount: int
    description: str  # ASCII, no diacritics (gateways reject or mangle them), at most 255 characters
    created_at: datetime
    expires_at: datetime
    client_ip: str


class Outcome(StrEnum):
    """What a gateway says became of an order."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"  # not paid yet, or the gateway does not know yet
    UNKNOWN = "unknown"  # the gateway has no such order


@dataclass(frozen=True)
class GatewayReport:
    """A verified callback or query answer: the order it is about and what the gateway says of it."""

    txn_ref: str
    amount: int  # VND as the gateway states it (VNPay's ×100 already divided out); compared with ours, never trusted
    outcome: Outcome
    response_code: str  # the gateway's own code, kept for the record ("00", "24", ...)
    gateway_txn_no: str | None = None  # the gateway's transaction number, where it gave one
    bank_code: str | None = None
    paid_at: datetime | None = None  # UTC


class SettleResult(StrEnum):
    """How settling a callback went on our side; each gateway words it in its own protocol's reply."""

    CONFIRMED = "confirmed"  # recorded now (a success, or a failure)
    NOT_FOUND = "not_found"  # no order with that reference
    ALREADY_CONFIRMED = "already_confirmed"  # settled before: a duplicate or a late retry
    AMOUNT_MISMATCH = "amount_mismatch"  # the amount differs from ours: refused and recorded for an officer
    SIGNATURE_INVALID = "signature_invalid"  # not from the gateway, or tampered with
    ERROR = "error"  # anything else: the gateway should retry later


@dataclass
class Payment:
    """One payment against a dossier: an online order at a gateway, or money taken at the desk."""

    dossier_id: str
    txn_ref: str  # our reference, sent to the gateway (`vnp_TxnRef`); the desk's is made from its receipt number
    payment_id: str
    gateway: str  # a GatewayName, or "desk"
    method: PaymentMethod
    amount: int  # whole VND
    status: PaymentStatus
    requested_at: datetime
    agency_code: str
    procedure_code: str
    valid_until: datetime | None = None  # the payment URL's expiry at the gateway
    payment_url: str | None = None
    settled_at: datetime | None = None
    response_code: str | None = None
    gateway_txn_no: str | None = None
    bank_code: str | None = None
    receipt_number: str | None = None  # ours for an online success; the desk's own for a desk payment
    recorded_by: str | None = None  # the officer who took a desk payment
    reported_amount: int | None = None  # what a mismatching report claimed
    version: int = 0

    @property
    def online(self) -> bool:
        return self.method is PaymentMethod.ONLINE

    @property
    def final(self) -> bool:
        return self.status in (PaymentStatus.SUCCEEDED, PaymentStatus.AMOUNT_MISMATCH)


DESK = "desk"
_TXN_REF = re.compile(r"^([0-9a-f]{32})([PD])([0-9]{3})$")


def txn_ref(dossier_id: str, ordinal: int, *, desk: bool = False) -> str:
    """Our reference for a dossier's `ordinal`-th payment: the dossier id, P (online) or D (desk), three digits.
    ASCII letters and digits only (as VNPay's `vnp_TxnRef` requires) and unique for ever, not just for a day."""
    if not 1 <= ordinal <= 999:
        raise RuleViolationError("Hồ sơ đã có quá nhiều lần thanh toán. (Too many payments on this dossier.)",
                                 code="TOO_MANY_PAYMENTS")
    return f"{dossier_id}{'D' if desk else 'P'}{ordinal:03d}"


def dossier_of(reference: str) -> str | None:
    """The dossier a reference of ours belongs to, or None if `reference` is not one of ours."""
    match = _TXN_REF.match(reference)
    return match.group(1) if match else None


def order_description(dossier_code: str) -> str:
    """What the gateway shows the payer: ASCII, no diacritics (VNPay's `vnp_OrderInfo`)."""
    return f"Thanh toan phi le phi ho so {dossier_code}"


def check_payable(status: Status, fees_due: int) -> None:
    """Raise unless a dossier in `status` owing `fees_due` may be paid now."""
    if status in CLOSED_TO_PAYMENT:
        raise ConflictError("Hồ sơ đã kết thúc, không thể thanh toán. (This dossier is closed to payment.)",
                            code="DOSSIER_CLOSED_TO_PAYMENT", details={"status": status.value})
    if fees_due <= 0:
        raise ConflictError("Hồ sơ không còn khoản phí nào phải nộp. (Nothing is owed on this dossier.)",
                            code="NOTHING_TO_PAY")


@dataclass(frozen=True)
class Settlement:
    """What settling a report did to a payment: the protocol's answer, and whether the payment changed."""

    result: SettleResult
    changed: bool  # the payment (and so the dossier) must be saved
    succeeded_now: bool = False
    failed_now: bool = False


def settle(payment: Payment, report: GatewayReport, now: datetime) -> Settlement:
    """Apply a gateway's verified report to `payment`, in the order the IPN contract checks: amount, then not
    already confirmed, then the outcome. A success is never downgraded; a failure may later succeed."""
    if report.amount != payment.amount:
        if payment.status is PaymentStatus.SUCCEEDED:
            return Settlement(SettleResult.ALREADY_CONFIRMED, changed=False)
        changed = payment.status is not PaymentStatus.AMOUNT_MISMATCH
        payment.status = PaymentStatus.AMOUNT_MISMATCH
        payment.reported_amount = report.amount
        payment.response_code = report.response_code
        payment.settled_at = payment.settled_at or now
        return Settlement(SettleResult.AMOUNT_MISMATCH, changed=changed)
    if payment.final:
        return Settlement(SettleResult.ALREADY_CONFIRMED, changed=False)
    if report.outcome is Outcome.SUCCEEDED:
        payment.status = PaymentStatus.SUCCEEDED
        payment.settled_at = report.paid_at or now
        payment.response_code = report.response_code
        payment.gateway_txn_no = report.gateway_txn_no
        payment.bank_code = report.bank_code
        payment.receipt_number = f"BL-{payment.txn_ref}"
        return Settlement(SettleResult.CONFIRMED, changed=True, succeeded_now=True)
    if report.outcome is Outcome.FAILED:
        if payment.status is PaymentStatus.FAILED and payment.response_code == report.response_code:
            return Settlement(SettleResult.ALREADY_CONFIRMED, changed=False)
        payment.status = PaymentStatus.FAILED
        payment.settled_at = now
        payment.response_code = report.response_code
        return Settlement(SettleResult.CONFIRMED, changed=True, failed_now=True)
    return Settlement(SettleResult.CONFIRMED, changed=False)  # pending or unknown: nothing to record yet


def expire(payment: Payment, now: datetime) -> bool:
    """Give up a payment nobody paid (the daily sweep); True if it changed. A late success still settles it."""
    if payment.status is not PaymentStatus.PENDING:
        return False
    payment.status = PaymentStatus.EXPIRED
    payment.settled_at = now
    return True


# --- what payments do to their dossier ---------------------------------------------------------------------------

SYSTEM = Actor(user_id="system", role="system", display_name="Hệ thống")
"""The actor of what the system does by itself: a paid dossier leaving status 6, a reconciliation."""


def _event(dossier: Dossier, event_type: str, *, event_id: str, now: datetime, actor: Actor, payload: Payload,
           from_status: Status | None = None) -> None:
    named = access.is_named_in_events(actor) or actor is SYSTEM
    dossier.events.append(change_event(
        dossier, event_type, event_id=event_id, now=now, from_status=from_status or dossier.status,
        actor_id=actor.user_id if named else None, actor_name=actor.display_name if named else None,
        actor_role=actor.role, payload=payload,
    ))


def request_online_payment(dossier: Dossier, gateway: GatewayName, actor: Actor, *, now: datetime, payment_id: str,
                           event_id: str) -> Payment:
    """A new pending online payment of what the dossier owes, made its pending one."""
    access.authorise_online_payment(actor, dossier)
    check_payable(dossier.status, dossier.fees_due)
    dossier.payments_made += 1
    payment = Payment(
        dossier_id=dossier.id, txn_ref=txn_ref(dossier.id, dossier.payments_made), payment_id=payment_id,
        gateway=gateway.value, method=PaymentMethod.ONLINE, amount=dossier.fees_due, status=PaymentStatus.PENDING,
        requested_at=now, valid_until=now + PAYMENT_TTL, agency_code=dossier.agency_code,
        procedure_code=dossier.procedure_code,
    )
    dossier.pending_txn_ref = payment.txn_ref
    _event(dossier, EventType.PAYMENT_REQUESTED, event_id=event_id, now=now, actor=actor,
           payload=PaymentAttempt(payment.payment_id, payment.gateway, payment.amount))
    return payment


def apply_settlement(dossier: Dossier, payment: Payment, settlement: Settlement, *, now: datetime,
                     event_id: str) -> None:
    """The dossier's side of a settled online payment: totals, its pending payment, events, and a dossier awaiting
    its fees (status 6) back to processing once nothing is owed, the system as actor."""
    if dossier.pending_txn_ref == payment.txn_ref and payment.status is not PaymentStatus.PENDING:
        dossier.pending_txn_ref = None
    if settlement.succeeded_now:
        first = dossier.paid_online_total == 0
        dossier.paid_total += payment.amount
        dossier.paid_online_total += payment.amount
        _event(dossier, EventType.PAYMENT_SUCCEEDED, event_id=event_id, now=now, actor=SYSTEM, payload=PaymentMade(
            payment.payment_id, payment.gateway, "online", payment.method.value, payment.amount, first))
        _confirm_fees_if_paid(dossier, now=now, event_id=f"{event_id}:fees")
    elif settlement.failed_now:
        _event(dossier, EventType.PAYMENT_FAILED, event_id=event_id, now=now, actor=SYSTEM,
               payload=PaymentAttempt(payment.payment_id, payment.gateway, payment.amount, payment.response_code))


def record_desk_payment(dossier: Dossier, actor: Actor, *, amount: int, method: PaymentMethod, receipt_number: str,
                        now: datetime, payment_id: str, event_id: str) -> Payment:
    """Money taken at the desk (cash or card) against its receipt: a payment transaction that is not online."""
    access.authorise_desk_payment(actor, dossier)
    if method is PaymentMethod.ONLINE:
        raise RuleViolationError("Thanh toán tại quầy là tiền mặt hoặc thẻ. (A desk payment is cash or card.)",
                                 code="PAYMENT_METHOD_INVALID")
    check_payable(dossier.status, max(amount, 1))
    dossier.payments_made += 1
    payment = Payment(
        dossier_id=dossier.id, txn_ref=txn_ref(dossier.id, dossier.payments_made, desk=True), payment_id=payment_id,
        gateway=DESK, method=method, amount=amount, status=PaymentStatus.SUCCEEDED, requested_at=now,
        agency_code=dossier.agency_code, procedure_code=dossier.procedure_code, settled_at=now,
        receipt_number=receipt_number, recorded_by=actor.user_id,
    )
    dossier.paid_total += amount
    _event(dossier, EventType.DESK_PAYMENT_RECORDED, event_id=event_id, now=now, actor=actor,
           payload=PaymentMade(payment.payment_id, DESK, "desk", method.value, amount, False))
    _confirm_fees_if_paid(dossier, now=now, event_id=f"{event_id}:fees")
    return payment


def _confirm_fees_if_paid(dossier: Dossier, *, now: datetime, event_id: str) -> None:
    if dossier.status is not Status.AWAITING_FEES or dossier.fees_due > 0:
        return
    before = dossier.status
    dossier.status = next_status(before, Action.CONFIRM_FEES)
    _event(dossier, EventType.FEES_CONFIRMED, event_id=event_id, now=now, actor=SYSTEM, payload=NO_PAYLOAD,
           from_status=before)
