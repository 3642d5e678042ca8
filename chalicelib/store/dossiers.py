"""Maps dossiers, their history and their outbox events to items, both ways; reads them with DynamoDB's failures
translated (`store.errors`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.dossier import Dossier
from chalicelib.domain.events import DomainEvent, from_detail, iso_utc
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.postal import attention
from chalicelib.domain.records import from_record, to_record
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import DossierModel, HistoryModel, OutboxModel

OUTBOX_TTL = timedelta(days=400)
"""The outbox hands events to the relay, and stays the dossier's event log for 13 months: what a counter rebuild
recounts (`services/rebuild.py`); older periods are rebuilt from the bus archive."""


def dossier_pk(dossier_id: str) -> str:
    return f"DOSSIER#{dossier_id}"


# Fields of the dossier that are not stored as attributes of its item as they are: events go to outbox items of their
# own, and the version is written by the unit of work (the one read plus one, on condition that it is still the one read).
TRANSIENT = frozenset({"events", "version"})


def dossier_values(dossier: Dossier) -> dict[str, Any]:
    """The dossier's item, as `DossierModel` attribute values: one per field of the dossier (its record), plus the keys
    of the indexes. Its version is the writer's to set (`unit_of_work`)."""
    record = to_record(dossier, leave_out=TRANSIENT)
    record["dossier_id"] = record.pop("id")
    postal_due = attention(dossier)
    return {
        "pk": dossier_pk(dossier.id),
        "sk": "DOSSIER",
        **record,
        "status_code": dossier.status.national_code,
        "agency_status": f"{dossier.agency_code}#{dossier.status.value}",
        "due_agency": dossier.agency_code if dossier.is_open and dossier.due_at else None,
        "postal_agency": dossier.agency_code if postal_due else None,
        "postal_due": postal_due,
    }


def from_item(item: DossierModel) -> Dossier:
    record = dict(item.attribute_values)
    record["id"] = record.pop("dossier_id")
    return from_record(Dossier, record)


def history_values(dossier_id: str, entry: HistoryEntry) -> dict[str, Any]:
    """A history entry's item, as `HistoryModel` attribute values."""
    return {
        "pk": dossier_pk(dossier_id),
        "sk": f"HISTORY#{entry.version:08d}",
        "version": entry.version,
        "at": iso_utc(entry.at),
        "actor_id": entry.actor.user_id,
        "actor_name": entry.actor.display_name,
        "actor_role": entry.actor.role,
        "actor_agency": entry.actor.agency_code,
        "action": entry.action,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "note": entry.note,
        "internal": entry.internal,
        "request_id": entry.request_id,
    }


def outbox_values(dossier_id: str, version: int, position: int, event: DomainEvent) -> dict[str, Any]:
    """An event's outbox item, as `OutboxModel` attribute values."""
    detail = event.detail()
    return {
        "pk": dossier_pk(dossier_id),
        "sk": f"OUTBOX#{version:08d}#{position:03d}",
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema": event.schema,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
        "occurred_at": detail["occurred_at"],
        "expires_at": int((event.occurred_at + OUTBOX_TTL).timestamp()),
    }


def events(dossier_id: str) -> list[DomainEvent]:
    """The events the dossier's changes recorded (its outbox items, deadline warnings included), oldest first."""
    with storage_errors():
        items = OutboxModel.query(dossier_pk(dossier_id), OutboxModel.sk.startswith("OUTBOX#"))
        return [from_detail(json.loads(item.detail)) for item in items]


def get(dossier_id: str) -> Dossier | None:
    with storage_errors():
        try:
            return from_item(DossierModel.get(dossier_pk(dossier_id), "DOSSIER"))
        except DossierModel.DoesNotExist:
            return None


def list_for_owner(
    owner_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """The owner's dossiers, newest first, one page at a time from the owner index."""
    with storage_errors(client_cursor=cursor is not None):  # the page is read as it is iterated
        page = DossierModel.by_owner.query(
            owner_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=cursor
        )
        dossiers = [from_item(item) for item in page]
    return dossiers, page.last_evaluated_key


def history_from_item(item: HistoryModel) -> HistoryEntry:
    actor = Actor(user_id=item.actor_id, role=item.actor_role, display_name=item.actor_name or "",
                  agency_code=item.actor_agency)
    return HistoryEntry(
        version=int(item.version), at=datetime.fromisoformat(item.at), actor=actor, action=item.action,
        from_status=item.from_status, to_status=item.to_status, note=item.note, internal=bool(item.internal),
        request_id=item.request_id,
    )


def history(dossier_id: str) -> list[HistoryEntry]:
    """Every change, oldest first."""
    with storage_errors():
        items = HistoryModel.query(dossier_pk(dossier_id), HistoryModel.sk.startswith("HISTORY#"))
        return [history_from_item(item) for item in items]


def list_for_agency(
    agency_code: str, status: str | None, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """An agency's dossiers newest first, optionally of one status, from the agency indexes."""
    if status:
        index: Any = DossierModel.by_agency_status
        key = f"{agency_code}#{status}"
    else:
        index, key = DossierModel.by_agency, agency_code
    with storage_errors(client_cursor=cursor is not None):
        page = index.query(key, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=cursor)
        return [from_item(item) for item in page], page.last_evaluated_key


def list_due(
    agency_code: str, due_before: str, limit: int, cursor: dict[str, Any] | None, status: str | None = None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """An agency's open dossiers due before an instant, most urgent first, from the sparse due index."""
    condition = DossierModel.status == status if status else None
    with storage_errors(client_cursor=cursor is not None):
        page = DossierModel.by_due.query(
            agency_code,
            DossierModel.due_at < due_before,
            filter_condition=condition,
            limit=limit,
            page_size=limit,
            last_evaluated_key=cursor,
        )
        return [from_item(item) for item in page], page.last_evaluated_key


class DynamoDossiers:
    """`services.ports.DossierReader` over the dossiers table and its indexes."""

    get = staticmethod(get)
    history = staticmethod(history)
    list_for_owner = staticmethod(list_for_owner)
    list_for_agency = staticmethod(list_for_agency)
    list_due = staticmethod(list_due)
    events = staticmethod(events)
