"""Use case: submit a dossier, honouring an Idempotency-Key, in one transaction with its history and event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.domain import dossier as dossiers
from chalicelib.domain.calendar import WorkingCalendar, business_date
from chalicelib.domain.errors import IdempotencyKeyRaceError, RuleViolationError
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.integrations.documents import DocumentStore
from chalicelib.services.uploads import verify_upload
from chalicelib.services.views import dossier_view
from chalicelib.store.unit_of_work import DynamoUnitOfWork, RememberedResponse


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replay(remembered: RememberedResponse, body_hash: str) -> Submitted:
    if remembered.request_hash != body_hash:
        raise RuleViolationError(
            "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác. "
            "(This Idempotency-Key was used with a different request body.)",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return Submitted(remembered.status_code, remembered.body, replayed=True)


def submit_dossier(
    cmd: dossiers.SubmitDossier,
    uow: DynamoUnitOfWork,
    *,
    actor: Actor,
    calendar_for: Callable[[int], WorkingCalendar],
    now: datetime,
    new_id: Callable[[], str],
    documents: DocumentStore | None = None,
    idempotency_key: str | None = None,
    body_hash: str = "",
    request_id: str | None = None,
) -> Submitted:
    if idempotency_key:
        remembered = uow.remembered(cmd.owner_id, idempotency_key)
        if remembered is not None:
            return _replay(remembered, body_hash)
    procedure = uow.catalogue.procedure(cmd.procedure_code)
    agency = uow.catalogue.agency(cmd.agency_code)
    dossiers.check_admissible(cmd, procedure, agency, business_date(now))  # before taking a number, so refusals leave no gap
    for document in cmd.documents:  # each attached file must be the caller's upload, exactly as declared
        if document.file is not None:
            if documents is None:
                raise RuntimeError("a document store is needed to check attached files")
            verify_upload(document.file.key, document.file.size, document.file.sha256, cmd.owner_id, documents)
    sequence = uow.next_sequence(agency.code, business_date(now))
    dossier = dossiers.submit(
        cmd,
        procedure,
        agency,
        calendar_for(now.year),
        now=now,
        dossier_id=new_id(),
        event_id=new_id(),
        sequence=sequence,
    )
    entry = HistoryEntry(
        version=1,
        at=now,
        actor=actor,
        action="submit",
        from_status=None,
        to_status=dossier.status.value,
        request_id=request_id,
    )
    uow.add_dossier(dossier, entry)
    body = dossier_view(replace(dossier, version=1), now, actor)
    if idempotency_key:
        uow.remember(cmd.owner_id, idempotency_key, body_hash, 201, body, now)
    try:
        uow.commit()
    except IdempotencyKeyRaceError:
        remembered = uow.remembered(cmd.owner_id, idempotency_key or "")
        if remembered is None:
            raise
        return _replay(remembered, body_hash)
    return Submitted(201, body)
