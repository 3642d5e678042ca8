"""A provider's delivery receipt moves its notice forward (never back), and counts a failure it reports, once."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from chalicelib.domain.notifications import NotificationStatus, outcome_deltas
from chalicelib.services.ports import Counters, NotificationStore

# What a receipt may say, in our words (each provider's adapter at its edge speaks these).
RECEIPT_STATUSES = {
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "temporary-failure": NotificationStatus.TEMPORARY_FAILURE,
    "permanent-failure": NotificationStatus.PERMANENT_FAILURE,
}


class ReceiptResult(str, Enum):
    UPDATED = "updated"
    IGNORED = "ignored"  # a duplicate, a late "sent" after "delivered", or another provider's notice
    UNKNOWN = "unknown_reference"  # not a notice of ours: acknowledged, so the provider stops retrying


def apply_receipt(provider: str, reference: str, status: str, store: NotificationStore,
                  counters: Counters) -> ReceiptResult:
    notice = store.get(reference)
    if notice is None:
        return ReceiptResult.UNKNOWN
    if notice.provider not in (None, provider):
        return ReceiptResult.IGNORED
    new = RECEIPT_STATUSES[status]
    # A receipt may overtake our own record of the hand-over (the provider answered, we have not written `sent` yet):
    # it moves `sending` on and names the provider; our late `sent` is then ignored, as any late status is.
    moved = store.move(reference, new, provider=provider)
    current = replace(notice, status=new, provider=provider) if moved else notice
    counters.apply(outcome_deltas(current))  # again on a duplicate: the markers count it once
    return ReceiptResult.UPDATED if moved else ReceiptResult.IGNORED
