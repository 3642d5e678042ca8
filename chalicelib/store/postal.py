"""Reads of the agency's postal work queue from the sparse `by_postal` index (dossiers with an officer's postal task
open, keyed first, or a shipment under way, by its J+n day), and of the partners' callbacks that named no shipment of
ours (kept under `POSTAL_UNMATCHED#{partner}`, newest first)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.dossier import Dossier
from chalicelib.store.dossiers import from_item
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import DossierModel, PostalCallbackModel


def unmatched_pk(partner: str) -> str:
    return f"POSTAL_UNMATCHED#{partner}"


class DynamoPostalQueue:
    """`services.ports.PostalQueue` over the dossiers table."""

    def postal_queue(self, agency_code: str, limit: int) -> list[Dossier]:
        with storage_errors():
            items = DossierModel.by_postal.query(agency_code, limit=limit, page_size=limit)
            return [from_item(item) for item in items]

    def unmatched(self, partner: str, limit: int) -> list[dict[str, Any]]:
        with storage_errors():
            items = PostalCallbackModel.query(unmatched_pk(partner), scan_index_forward=False, limit=limit,
                                              page_size=limit)
            return [{"webhook_id": item.sk.split("#", 1)[1], "received_at": item.received_at, "code": item.code,
                     "body": item.body} for item in items]
