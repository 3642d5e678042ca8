"""Maps dossiers, their history and their outbox events to items, both ways."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.dossier import Applicant, Document, DocumentFile, Dossier, SupplementRecord
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
        documents=[_document_data(d) for d in dossier.documents],
        result_delivery=dossier.result_delivery.value,
        status=dossier.status.value,
        status_code=dossier.status.national_code,
        submitted_at=iso_utc(dossier.submitted_at),
        appointment_at=iso_utc(dossier.appointment_at),
        fees_total=dossier.fees_total,
        legal_days=dossier.legal_days,
        agency_status=f"{dossier.agency_code}#{dossier.status.value}",
        received_at=_iso(dossier.received_at),
        due_at=_iso(dossier.due_at),
        due_agency=dossier.agency_code if dossier.is_open and dossier.due_at else None,
        supplements=[
            {"requested_at": iso_utc(s.requested_at), "missing": s.missing, "resubmitted_at": _iso(s.resubmitted_at)}
            for s in dossier.supplements
        ],
        finished_at=_iso(dossier.finished_at),
        verdict=dossier.verdict,
        decision=dossier.decision,
        reason=dossier.reason,
        result_reference=dossier.result_reference,
        result_file_key=dossier.result_file_key,
        returned_via=dossier.returned_via,
        apologies=dossier.apologies,
        rating=dossier.rating,
        rating_comment=dossier.rating_comment,
        paid_online_total=dossier.paid_online_total,
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
        documents=tuple(
            Document(d["type"], d["name"], DocumentFile(**d["file"]) if d.get("file") else None) for d in item.documents
        ),
        result_delivery=ResultDelivery(item.result_delivery),
        status=Status(item.status),
        submitted_at=datetime.fromisoformat(item.submitted_at),
        appointment_at=datetime.fromisoformat(item.appointment_at),
        fees_total=int(item.fees_total),
        legal_days=int(item.legal_days or 0),
        version=int(item.version or 0),
        received_at=_dt(item.received_at),
        due_at=_dt(item.due_at),
        supplements=[
            SupplementRecord(
                requested_at=datetime.fromisoformat(s["requested_at"]),
                missing=s["missing"],
                resubmitted_at=_dt(s.get("resubmitted_at")),
            )
            for s in (item.supplements or [])
        ],
        finished_at=_dt(item.finished_at),
        verdict=item.verdict,
        decision=item.decision,
        reason=item.reason,
        result_reference=item.result_reference,
        result_file_key=item.result_file_key,
        returned_via=item.returned_via,
        apologies=int(item.apologies or 0),
        rating=item.rating,
        rating_comment=item.rating_comment,
        paid_online_total=int(item.paid_online_total or 0),
    )


def _document_data(document: Document) -> dict[str, Any]:
    data: dict[str, Any] = {"type": document.type, "name": document.name}
    if document.file is not None:
        data["file"] = {"key": document.file.key, "size": document.file.size, "sha256": document.file.sha256}
    return data


def _iso(at: datetime | None) -> str | None:
    return None if at is None else iso_utc(at)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def history_item(dossier_id: str, entry: HistoryEntry) -> HistoryModel:
    return HistoryModel(
        dossier_pk(dossier_id),
        f"HISTORY#{entry.version:08d}",
        version=entry.version,
        at=iso_utc(entry.at),
        actor_id=entry.actor.user_id,
        actor_name=entry.actor.display_name,
        actor_role=entry.actor.role,
        actor_agency=entry.actor.agency_code,
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


def history(dossier_id: str) -> list[HistoryModel]:
    return list(HistoryModel.query(dossier_pk(dossier_id), HistoryModel.sk.startswith("HISTORY#")))


def list_for_agency(
    agency_code: str, status: str | None, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """An agency's dossiers newest first, optionally of one status, from the agency indexes."""
    if status:
        index: Any = DossierModel.by_agency_status
        key = f"{agency_code}#{status}"
    else:
        index, key = DossierModel.by_agency, agency_code
    page = index.query(key, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=cursor)
    return [from_item(item) for item in page], page.last_evaluated_key


def list_due(
    agency_code: str, due_before: str, limit: int, cursor: dict[str, Any] | None, status: str | None = None
) -> tuple[list[Dossier], dict[str, Any] | None]:
    """An agency's open dossiers due before an instant, most urgent first, from the sparse due index."""
    condition = DossierModel.status == status if status else None
    page = DossierModel.by_due.query(
        agency_code,
        DossierModel.due_at < due_before,
        filter_condition=condition,
        limit=limit,
        page_size=limit,
        last_evaluated_key=cursor,
    )
    return [from_item(item) for item in page], page.last_evaluated_key
