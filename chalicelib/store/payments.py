"""Maps payments and their receipts to items of the dossiers table, both ways, and reads them: a dossier's
payments, and the pending ones by gateway from the sparse reconciliation index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.events import iso_utc
from chalicelib.domain.payments import Payment, PaymentStatus
from chalicelib.domain.records import from_record, to_record
from chalicelib.store.dossiers import dossier_pk
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import PaymentModel

PAYMENT_PREFIX = "PAYMENT#"


def payment_sk(txn_ref: str) -> str:
    return f"{PAYMENT_PREFIX}{txn_ref}"


def payment_values(payment: Payment) -> dict[str, Any]:
    """The payment's item as attribute values (its version left to the writer): one per field of the payment, its
    keys, and the reconciliation index's key while it is pending."""
    return {"pk": dossier_pk(payment.dossier_id), "sk": payment_sk(payment.txn_ref),
            **to_record(payment, leave_out=frozenset({"version"})),
            "pending_gateway": payment.gateway if payment.status is PaymentStatus.PENDING else None}


def from_item(item: PaymentModel) -> Payment:
    record = {name: value for name, value in item.attribute_values.items()
              if name not in ("pk", "sk", "kind", "pending_gateway")}
    return from_record(Payment, record)


def receipt_values(payment: Payment) -> dict[str, Any]:
    """The payment's one receipt, keyed by its number: written on condition it does not exist yet."""
    assert payment.receipt_number is not None and payment.settled_at is not None
    return {"pk": dossier_pk(payment.dossier_id), "sk": f"RECEIPT#{payment.receipt_number}", "txn_ref": payment.txn_ref,
            "amount": payment.amount, "issued_at": iso_utc(payment.settled_at)}


class DynamoPayments:
    """`services.ports.PaymentReader` over the dossiers table and its reconciliation index."""

    def for_dossier(self, dossier_id: str) -> list[Payment]:
        """Every payment of a dossier, oldest first (references number them in order)."""
        with storage_errors():
            items = PaymentModel.query(dossier_pk(dossier_id), PaymentModel.sk.startswith(PAYMENT_PREFIX))
            return sorted((from_item(item) for item in items), key=lambda p: p.requested_at)

    def pending(self, gateway: str, requested_before: datetime, limit: int) -> list[Payment]:
        """Payments still pending at `gateway`, asked for before `requested_before`, oldest first."""
        with storage_errors():
            items = PaymentModel.by_pending.query(gateway, PaymentModel.requested_at < iso_utc(requested_before),
                                                  limit=limit)
            return [from_item(item) for item in items]
