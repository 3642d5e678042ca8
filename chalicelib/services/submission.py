"""Use case: submit a dossier, honouring an Idempotency-Key, in one transaction with its history and event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.domain import dossier as dossiers
from chalicelib.domain.calendar import WorkingCalendar, business_date
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import IdempotencyKeyRaceError, SequenceTakenError
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.idempotency import RememberedResponse, check_same_request
from chalicelib.integrations.documents import DocumentStore
from chalicelib.services.ports import PaperFreeDaysStore, UnitOfWork
from chalicelib.services.uploads import verify_upload


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def submit_dossier(
    cmd: dossiers.SubmitDossier,
    uow: UnitOfWork,
    *,
    actor: Actor,
    calendar_for: Callable[[int], WorkingCalendar],
    now: datetime,
    new_id: Callable[[], str],
    render: Callable[[Dossier], dict[str, Any]],
    documents: DocumentStore | None = None,
    idempotency_key: str | None = None,
    body_hash: str = "",
    request_id: str | None = None,
    paper_free: PaperFreeDaysStore | None = None,
) -> Submitted:
    """File the dossier; `render` shapes the answer, which an Idempotency-Key remembers in the same transaction
    (a retry gets exactly the first answer, even after the dossier has moved on). The key is not read first: its
    record's condition in the transaction finds a used key, and only then is the remembered answer read."""
    procedure = uow.catalogue.procedure(cmd.procedure_code)
    agency = uow.catalogue.agency(cmd.agency_code)
    schedule = paper_free.for_agency(agency.code) if paper_free is not None and not cmd.channel.is_online else None
    if schedule is not None:  # the agency's paper-free days, for the procedures it chose (only paper can break them)
        procedure = schedule.applied_to(procedure)
    dossiers.check_admissible(cmd, procedure, agency, business_date(now))  # before taking a number, so refusals leave no gap
    for document in cmd.documents:  # each attached file must be the caller's upload, exactly as declared
        if document.file is not None:
            if documents is None:
                raise RuntimeError("a document store is needed to check attached files")
            verify_upload(document.file.key, document.file.size, document.file.sha256, cmd.owner_id, documents)
    while True:  # a lost guess at the number builds the dossier again; the unit of work bounds the guesses
        sequence = uow.next_sequence(agency.code, business_date(now))
        dossier = dossiers.submit(
            cmd, procedure, agency, calendar_for(now.year), now=now, dossier_id=new_id(), event_id=new_id(),
            sequence=sequence, receiver=actor,
        )
        entry = HistoryEntry(
            version=1, at=now, actor=actor, action="submit", from_status=None, to_status=dossier.status.value,
            request_id=request_id,
        )
        uow.add_dossier(dossier, entry)
        answer = Submitted(201, render(replace(dossier, version=1)))
        if idempotency_key:
            uow.remember(cmd.owner_id, idempotency_key, RememberedResponse(body_hash, answer.status_code, answer.body),
                         now)
        try:
            uow.commit()
        except SequenceTakenError:
            continue
        except IdempotencyKeyRaceError:  # the key was used: nothing was written, no number taken; answer as before
            remembered = uow.remembered(cmd.owner_id, idempotency_key or "")
            if remembered is None:
                raise
            check_same_request(remembered, body_hash)
            return Submitted(remembered.status_code, remembered.body, replayed=True)
        return answer
