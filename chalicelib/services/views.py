"""What callers see of a dossier and its history, shaped as `dossier.v1.json` and `history.v1.json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.events import iso_utc
from chalicelib.domain.history import Actor
from chalicelib.domain.lifecycle import Action, allowed_actions


def _iso(at: datetime | None) -> str | None:
    return None if at is None else iso_utc(at)


def _next_actions(dossier: Dossier, now: datetime, kind: str | None) -> list[str]:
    """The state machine's allowed actions, less those the dossier's facts rule out (apologise when not
    late, a second rating, a result before a decision)."""
    if kind is None:
        return []
    ruled_out = set()
    if not dossier.owes_apology(now):
        ruled_out.add(Action.APOLOGISE)
    if dossier.rating is not None:
        ruled_out.add(Action.RATE)
    if dossier.decision is None:
        ruled_out.add(Action.MARK_RESULT_READY)
    return [a.slug for a in allowed_actions(dossier.status, kind) if a not in ruled_out]


def dossier_view(dossier: Dossier, now: datetime, viewer: Actor | None = None) -> dict[str, Any]:
    """The dossier with what the viewer may do next (`allowed_actions`, for their kind of actor)."""
    kind = None if viewer is None else ("applicant" if viewer.is_applicant else "officer")
    return {
        "id": dossier.id,
        "code": dossier.code,
        "procedure": {"code": dossier.procedure_code, "name": dossier.procedure_name},
        "agency_code": dossier.agency_code,
        "channel": dossier.channel.value,
        "channel_code": dossier.channel.national_code,
        "online_form": dossier.online_form.value,
        "status": dossier.status.value,
        "status_code": dossier.status.national_code,
        "submitted_at": iso_utc(dossier.submitted_at),
        "received_at": _iso(dossier.received_at),
        "appointment_at": iso_utc(dossier.appointment_at),
        "appointment_date": dossier.appointment_at.astimezone(VN_TZ).date().isoformat(),
        "due_at": _iso(dossier.due_at),
        "finished_at": _iso(dossier.finished_at),
        "verdict": dossier.verdict,
        "owes_apology": dossier.owes_apology(now),
        "apologies": dossier.apologies,
        "supplements": [
            {"requested_at": iso_utc(s.requested_at), "missing": s.missing, "resubmitted_at": _iso(s.resubmitted_at)}
            for s in dossier.supplements
        ],
        "decision": dossier.decision,
        "reason": dossier.reason,
        "result_reference": dossier.result_reference,
        "returned_via": dossier.returned_via,
        "rating": dossier.rating,
        "result_delivery": dossier.result_delivery.value,
        "fees_total": dossier.fees_total,
        "applicant": {
            "kind": dossier.applicant.kind.value,
            "name": dossier.applicant.name,
            "national_id": dossier.applicant.national_id,
            "phone": dossier.applicant.phone,
            "email": dossier.applicant.email,
        },
        "documents": [
            {"type": d.type, "name": d.name, "file": None if d.file is None else
             {"key": d.file.key, "size": d.file.size, "sha256": d.file.sha256}}
            for d in dossier.documents
        ],
        "allowed_actions": _next_actions(dossier, now, kind),
        "version": dossier.version,
    }
