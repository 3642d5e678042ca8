"""Maps dossiers, their history and their outbox events to items, both ways."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.dossier import Applicant, Document, Dossier
from chalicelib.domain.events import DomainEvent, iso_utc
from chalicelib.domain.history import HistoryEntry
from chalicelib.domain.vocabulary import ApplicantKind, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.store.models import DossierModel, HistoryModel, OutboxModel

OUTBOX_TTL = timedelta(days=30)


def dossier_pk(dossier_id: str) -> str:
    return f"DOSSIER#{dossier_id}"


def to_item(dossier: Dossier) -> DossierModel:
    item = DossierModel(
        dossier_pk(dossier.id),
        "DOSSIER",
        dossier_id=dossier.id,
        code=dossier.code,
        owner_id=dossier.owner_id,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        agency_code=dossier.agency_code,
        agency_path=list(dossier.agency_path),
        agency_level=dossier.agency_level,
        channel=dossier.channel.value,
        online_form=dossier.online_form.value,
        applicant={
            "kind": dossier.applicant.kind.value,
            "name": dossier.applicant.name,
            "national_id": dossier.applicant.national_id,
            "phone": dossier.applicant.phone,
            "email": dossier.applicant.email,
        },
        documents=[{"type": d.type, "name": d.name} for d in dossier.documents],
        result_delivery=dossier.result_delivery.value,
        status=dossier.status.value,
        status_code=dossier.status.national_code,
        submitted_at=iso_utc(dossier.submitted_at),
        appointment_at=iso_utc(dossier.appointment_at),
        fees_total=dossier.fees_total,
    )
    if dossier.version:
        item.version = dossier.version
    return item


def from_item(item: DossierModel) -> Dossier:
    applicant = item.applicant
    return Dossier(
        id=item.dossier_id,
        code=item.code,
        owner_id=item.owner_id,
        procedure_code=item.procedure_code,
        procedure_name=item.procedure_name,
        agency_code=item.agency_code,
        agency_path=tuple(str(code) for code in item.agency_path),
        agency_level=item.agency_level,
        channel=Channel(item.channel),
        online_form=OnlineForm(item.online_form),
        applicant=Applicant(
            kind=ApplicantKind(applicant["kind"]),
            name=applicant["name"],
            national_id=applicant["national_id"],
            phone=applicant["phone"],
            email=applicant.get("email"),
        ),
        documents=tuple(Document(d["type"], d["name"]) for d in item.documents),
        result_delivery=ResultDelivery(item.result_delivery),
        status=Status(item.status),
        submitted_at=datetime.fromisoformat(item.submitted_at),
        appointment_at=datetime.fromisoformat(item.appointment_at),
        fees_total=int(item.fees_total),
        version=int(item.version or 0),
    )


def history_item(dossier_id: str, entry: HistoryEntry) -> HistoryModel:
    return HistoryModel(
        dossier_pk(dossier_id),
        f"HISTORY#{entry.version:08d}",
        version=entry.version,
        at=iso_utc(entry.at),
        actor_id=entry.actor.user_id,
        actor_role=entry.actor.role,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        note=entry.note,
        internal=entry.internal,
        request_id=entry.request_id,
    )


def outbox_item(dossier_id: str, version: int, position: int, event: DomainEvent) -> OutboxModel:
    detail = event.detail()
    return OutboxModel(
        dossier_pk(dossier_id),
        f"OUTBOX#{version:08d}#{position:03d}",
        event_id=event.event_id,
        event_type=event.event_type,
        schema=event.schema,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        occurred_at=detail["occurred_at"],
        expires_at=int((event.occurred_at + OUTBOX_TTL).timestamp()),
    )


def get(dossier_id: str) -> Dossier | None:
    try:
        return from_item(DossierModel.get(dossier_pk(dossier_id), "DOSSIER"))
    except DossierModel.DoesNotExist:
        return None


def list_for_owner(
    owner_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """The owner's dossiers, newest first, one page at a time from the owner index."""
    page = DossierModel.by_owner.query(
        owner_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=cursor
    )
    dossiers = [from_item(item) for item in page]
    return dossiers, page.last_evaluated_key
