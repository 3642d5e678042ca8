"""Reads of the agency's postal work queue from the sparse `by_postal` index: dossiers with an officer's postal task
open (keyed first) or a shipment under way (by its J+n day)."""

from __future__ import annotations

from chalicelib.domain.dossier import Dossier
from chalicelib.store.dossiers import from_item
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import DossierModel


class DynamoPostalQueue:
    """`services.ports.PostalQueue` over the dossiers table."""

    def postal_queue(self, agency_code: str, limit: int) -> list[Dossier]:
        with storage_errors():
            items = DossierModel.by_postal.query(agency_code, limit=limit, page_size=limit)
            return [from_item(item) for item in items]
