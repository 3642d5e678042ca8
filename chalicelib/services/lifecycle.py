"""Use case: an officer or the applicant takes a lifecycle action on a dossier, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.access import authorise_action, writes_internal_notes
from chalicelib.domain.actions import INTERNAL_NOTE_ACTIONS, ActOnDossier, act, version_conflict
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import VersionConflictError, dossier_not_found
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.timeliness import INDEX_SUPPLEMENT_POLICY, SupplementPolicy
from chalicelib.services.ports import UnitOfWork


def act_on_dossier(
    cmd: ActOnDossier,
    uow: UnitOfWork,
    *,
    actor: Actor,
    calendar_for: Callable[[int], WorkingCalendar],
    now: datetime,
    new_id: Callable[[], str],
    request_id: str | None = None,
    supplement_policy: SupplementPolicy = INDEX_SUPPLEMENT_POLICY,
) -> Dossier:
    """The dossier as the action left it (at its new version); raises the domain's errors."""
    dossier = uow.get_dossier(cmd.dossier_id)
    if dossier is None:
        raise dossier_not_found(cmd.dossier_id)
    authorise_action(actor, dossier, cmd.action)  # before any lookup the caller's body asks for
    target = None
    if cmd.action == Action.TRANSFER and cmd.params.get("to_agency"):
        target = uow.catalogue.agency(str(cmd.params["to_agency"]))
    before, note = act(dossier, cmd, actor, calendar_for(now.year), now=now, event_id=new_id(), target_agency=target,
                       supplement_policy=supplement_policy)
    internal = writes_internal_notes(actor) and (cmd.action in INTERNAL_NOTE_ACTIONS or bool(cmd.params.get("internal")))
    entry = HistoryEntry(
        version=dossier.version + 1,
        at=now,
        actor=actor,
        action=cmd.action.value,
        from_status=before.value,
        to_status=dossier.status.value,
        note=note,
        internal=internal,
        request_id=request_id,
    )
    uow.update_dossier(dossier, entry)
    try:
        uow.commit()
    except VersionConflictError as exc:  # a racing officer committed first: say what the dossier is now
        current = uow.get_dossier(cmd.dossier_id)
        if current is None:
            raise
        raise version_conflict(current, cmd.action) from exc
    return replace(dossier, version=dossier.version + 1)
