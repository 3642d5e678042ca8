"""What callers see of a dossier and its history, shaped as `dossier.v1.json` and `history.v1.json`.

Built from the dossier's record (`domain.records`), so the field values are serialised in one place; this module
only chooses and arranges what the API shows, and adds what a viewer may do next.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain import access
from chalicelib.domain.calendar import business_date
from chalicelib.domain.dossier import Dossier, PostalTask
from chalicelib.domain.events import iso_utc
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.lifecycle import Action, allowed_actions
from chalicelib.domain.payments import Payment, PaymentStatus
from chalicelib.domain.records import to_record

# Shown as they are recorded, under the same names.
_AS_RECORDED = (
    "id", "code", "agency_code", "channel", "online_form", "status", "submitted_at", "received_at", "appointment_at",
    "due_at", "new_appointment_at", "finished_at", "verdict", "apologies", "supplements", "decision", "decision_reason",
    "reason", "result_reference",
    "returned_via", "rating", "result_delivery", "fees_total", "applicant", "documents", "paid_total",
    "paid_online_total",
)


def _next_actions(dossier: Dossier, now: datetime, kind: str | None) -> list[str]:
    """The state machine's allowed actions, less those the dossier's facts rule out (apologise without an
    appointment to miss, a second rating, a result before a decision)."""
    if kind is None:
        return []
    ruled_out = set()
    if not dossier.may_apologise():
        ruled_out.add(Action.APOLOGISE)
    if dossier.rating is not None:
        ruled_out.add(Action.RATE)
    if dossier.decision is None:
        ruled_out.add(Action.MARK_RESULT_READY)
    return [a.slug for a in allowed_actions(dossier.status, kind) if a not in ruled_out]


def _date(at: datetime) -> str:
    return business_date(at).isoformat()


def dossier_view(dossier: Dossier, now: datetime, viewer: Actor | None = None) -> dict[str, Any]:
    """The dossier with what the viewer may do next (`allowed_actions`, for their kind of actor)."""
    kind = None if viewer is None else ("applicant" if access.is_applicant(viewer) else "officer")
    record = to_record(dossier)
    return {
        **{name: record[name] for name in _AS_RECORDED},
        "procedure": {"code": dossier.procedure_code, "name": dossier.procedure_name},
        "channel_code": dossier.channel.national_code,
        "status_code": dossier.status.national_code,
        "appointment_date": _date(dossier.appointment_at),
        "new_appointment_date": _date(dossier.new_appointment_at) if dossier.new_appointment_at else None,
        "owes_apology": dossier.owes_apology(now),
        "fees_due": dossier.fees_due,
        "allowed_actions": _next_actions(dossier, now, kind),
        "version": dossier.version,
        "pickup_address": record["pickup_address"],
        "delivery_address": record["delivery_address"],
        "shipments": shipments_view(dossier, now),
    }


def shipments_view(dossier: Dossier, now: datetime) -> list[dict[str, Any]]:
    """The dossier's postal shipments, oldest first; `overdue`: under way past its J+n day."""
    today = business_date(now)
    return [{"shipment_id": s.shipment_id, "kind": s.kind.value, "waybill": s.waybill, "status": s.status.value,
             "expected_by": s.expected_by.isoformat(), "overdue": s.overdue(today)} for s in dossier.shipments]


def postal_queue_view(agency_code: str, dossiers: list[Dossier], now: datetime) -> dict[str, Any]:
    """An agency's postal work: each dossier's shipments and its open postal tasks."""
    today = business_date(now)
    return {"agency_code": agency_code, "items": [
        {"dossier_id": d.id, "code": d.code, "status": d.status.value, "shipments": shipments_view(d, now),
         "overdue": any(s.overdue(today) for s in d.shipments),
         "tasks": [postal_task_view(t) for t in d.postal_tasks if t.open]}
        for d in dossiers]}


def postal_task_view(task: PostalTask) -> dict[str, Any]:
    return {"task_id": task.task_id, "shipment_id": task.shipment_id, "kind": task.kind, "code": task.code,
            "at": iso_utc(task.at), "note": task.note, "open": task.open}


def history_view(dossier_id: str, entries: list[HistoryEntry], viewer: Actor) -> dict[str, Any]:
    """Every change, oldest first. Applicants do not see officer-internal notes, officers' ids or request ids."""
    insider = access.sees_internal_notes(viewer)
    return {
        "dossier_id": dossier_id,
        "entries": [
            {
                "version": entry.version,
                "at": iso_utc(entry.at),
                "action": entry.action.replace("_", "-"),
                "from_status": entry.from_status,
                "to_status": entry.to_status,
                "actor": {
                    "role": entry.actor.role,
                    "name": entry.actor.display_name,
                    "agency_code": entry.actor.agency_code,
                    **({"id": entry.actor.user_id} if insider else {}),
                },
                "note": entry.note if insider or not entry.internal else None,
                "internal": entry.internal,
                **({"request_id": entry.request_id} if insider else {}),
            }
            for entry in entries
        ],
    }


_PAYMENT_FIELDS = ("payment_id", "txn_ref", "dossier_id", "gateway", "method", "amount", "status", "requested_at",
                   "valid_until", "settled_at", "receipt_number", "response_code")


def payment_view(payment: Payment) -> dict[str, Any]:
    """A payment as `payment.v1.json` shows it: the URL only while it can still be followed."""
    record = to_record(payment)
    return {**{name: record[name] for name in _PAYMENT_FIELDS},
            "payment_url": payment.payment_url if payment.status is PaymentStatus.PENDING else None}


def payments_view(dossier: Dossier, payments: list[Payment]) -> dict[str, Any]:
    return {"dossier_id": dossier.id, "items": [payment_view(p) for p in payments], "fees_due": dossier.fees_due,
            "paid_total": dossier.paid_total, "paid_online_total": dossier.paid_online_total}
