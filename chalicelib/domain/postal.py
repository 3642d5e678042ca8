"""What the postal service does to a dossier: which shipments it needs now, a shipment ordered, and a partner's
report applied with its effects (the dossier received when its pickup reaches the desk, the result returned by post
when its return is delivered, an officer's task when a delivery fails or comes back)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from . import directives
from .actions import _start_clock as start_clock
from .actions import change_event
from .calendar import WorkingCalendar, business_date
from .dossier import Dossier, PostalTask
from .errors import RuleViolationError
from .events import EventType, Payload, ResultHandedOver, ShipmentArrival, ShipmentNote, ShipmentOrdered
from .payments import SYSTEM
from .shipments import (
    Application,
    Applied,
    PartnerEvent,
    PartnerEventType,
    Route,
    Shipment,
    ShipmentKind,
    ShipmentStatus,
    apply_event,
    expected_by,
    route_between,
    shipment_id,
)
from .vocabulary import ResultDelivery, Status


def shipments_wanted(dossier: Dossier) -> list[ShipmentKind]:
    """The shipments the dossier needs asked for now: its pickup while it waits for it; its result's return once
    ready (and, for a full-online procedure, paid online: directive 3), unless one is under way or came back."""
    have = {s.kind for s in dossier.shipments if s.status is not ShipmentStatus.CANCELLED}
    wanted = []
    if dossier.pickup_address is not None and dossier.status == Status.REGISTERED and ShipmentKind.PICKUP not in have:
        wanted.append(ShipmentKind.PICKUP)
    if (dossier.delivery_address is not None and dossier.result_delivery == ResultDelivery.POST
            and dossier.status == Status.RESULT_READY and ShipmentKind.RETURN not in have and _may_post(dossier)):
        wanted.append(ShipmentKind.RETURN)
    return wanted


def _may_post(dossier: Dossier) -> bool:
    try:
        directives.enforce("return", directives.Facts(
            business_day=business_date(dossier.finished_at or dossier.submitted_at), channel=dossier.channel,
            applicant_kind=dossier.applicant.kind, procedure_internal=False, online_form=dossier.online_form,
            returned_via=ResultDelivery.POST, fees_total=dossier.fees_total,
            paid_online_total=dossier.paid_online_total,
        ))
    except RuleViolationError:
        return False
    return True


def pickup_to_cancel(dossier: Dossier) -> Shipment | None:
    """A withdrawn dossier's pickup not yet picked up: the partner is told not to come."""
    if dossier.status != Status.WITHDRAWN:
        return None
    return next((s for s in dossier.shipments if s.kind is ShipmentKind.PICKUP
                 and s.status in (ShipmentStatus.REQUESTED, ShipmentStatus.ACCEPTED)), None)


def route_of(dossier: Dossier, kind: ShipmentKind) -> Route:
    address = dossier.pickup_address if kind is ShipmentKind.PICKUP else dossier.delivery_address
    assert address is not None
    return route_between(dossier.agency_code, address)


def new_shipment_id(dossier: Dossier, kind: ShipmentKind) -> str:
    return shipment_id(dossier.id, kind, 1 + sum(1 for s in dossier.shipments if s.kind is kind))


def add_shipment(dossier: Dossier, kind: ShipmentKind, *, shipment_id_: str, partner: str, waybill: str,
                 accepted_at: datetime, service_levels: dict[Route, int], calendar: WorkingCalendar, now: datetime,
                 event_id: str) -> Shipment:
    """The shipment the partner accepted, on the dossier, with its `ShipmentRequested` event."""
    route = route_of(dossier, kind)
    days = service_levels[route]
    shipment = Shipment(
        shipment_id=shipment_id_, kind=kind, partner=partner, waybill=waybill, status=ShipmentStatus.REQUESTED,
        route=route, requested_at=now, accepted_at=accepted_at, expected_by=expected_by(accepted_at, days, calendar),
        service_days=days,
    )
    dossier.shipments.append(shipment)
    _event(dossier, EventType.SHIPMENT_REQUESTED, event_id, now, ShipmentOrdered(
        shipment_id=shipment.shipment_id, kind=kind, partner=partner, route=route,
        expected_by=shipment.expected_by,
    ))
    return shipment


def cancel_shipment(shipment: Shipment) -> None:
    shipment.status = ShipmentStatus.CANCELLED


def find_shipment(dossier: Dossier, shipment_id_: str) -> Shipment | None:
    return next((s for s in dossier.shipments if s.shipment_id == shipment_id_), None)


@dataclass(frozen=True)
class Report:
    """What a partner's report did: its application to the shipment, and a note for the dossier's history."""

    application: Application
    note: str


def apply_report(dossier: Dossier, shipment: Shipment, event: PartnerEvent, *, now: datetime,
                 calendar: WorkingCalendar, new_id: Callable[[], str]) -> Report:
    """Apply a verified partner event to one of the dossier's shipments, with its effects on the dossier."""
    event_id = new_id()
    application = apply_event(shipment, event, now)
    where = f"{shipment.kind.value} {shipment.waybill}"
    if application.result is Applied.UNAPPLICABLE:
        _task(dossier, shipment, "unapplicable", application.code, event, event_id)
        return Report(application, f"Báo cáo bưu chính không áp dụng được ({application.code}): {event.type.value}, "
                                   f"{where}")
    if application.result is Applied.RECORDED:
        return Report(application, f"Bưu chính báo {event.type.value} (trước đó; đã ghi nhận), {where}")
    note = ShipmentNote(shipment.shipment_id, shipment.kind, shipment.partner)
    kind = event.type
    if kind is PartnerEventType.PICKED_UP:
        _event(dossier, EventType.SHIPMENT_PICKED_UP, event_id, event.occurred_at, note)
    elif kind is PartnerEventType.FAILED:
        _task(dossier, shipment, "failed", "DELIVERY_FAILED", event, event_id)
        _event(dossier, EventType.SHIPMENT_FAILED, event_id, event.occurred_at, note)
    elif kind is PartnerEventType.RETURNED:  # the result (or the applicant's dossier) waits at the desk / at home
        _task(dossier, shipment, "returned", "RETURNED_TO_SENDER", event, event_id)
        _event(dossier, EventType.SHIPMENT_RETURNED, event_id, event.occurred_at, note)
    elif kind is PartnerEventType.DELIVERED:
        for task in dossier.postal_tasks:
            if task.shipment_id == shipment.shipment_id and task.kind == "failed":
                task.open = False  # delivered after all
        _event(dossier, EventType.SHIPMENT_DELIVERED, event_id, event.occurred_at, ShipmentArrival(
            shipment.shipment_id, shipment.kind, shipment.partner, late=shipment.late))
        _delivered(dossier, shipment, event.occurred_at, calendar, event_id, new_id)
    return Report(application, f"Bưu chính: {event.type.value}, {where}")


def _delivered(dossier: Dossier, shipment: Shipment, at: datetime, calendar: WorkingCalendar, event_id: str,
               new_id: Callable[[], str]) -> None:
    before = dossier.status
    if shipment.kind is ShipmentKind.PICKUP and before == Status.REGISTERED:
        # the paper dossier reached the desk: received through the postal channel, the clock starts at delivery
        start_clock(dossier, at, calendar)
        dossier.status = Status.RECEIVED
        dossier.events.append(change_event(dossier, EventType.DOSSIER_RECEIVED, event_id=f"{event_id}:received",
                                           now=at, from_status=before, actor_id=SYSTEM.user_id,
                                           actor_name=SYSTEM.display_name, actor_role=SYSTEM.role))
    elif shipment.kind is ShipmentKind.RETURN and before == Status.RESULT_READY:
        dossier.status = Status.RESULT_RETURNED
        dossier.returned_via = ResultDelivery.POST.value
        dossier.events.append(change_event(dossier, EventType.RESULT_RETURNED, event_id=new_id(), now=at,
                                           from_status=before, actor_id=SYSTEM.user_id,
                                           actor_name=SYSTEM.display_name, actor_role=SYSTEM.role,
                                           payload=ResultHandedOver(via=ResultDelivery.POST)))


def _task(dossier: Dossier, shipment: Shipment, kind: str, code: str, event: PartnerEvent, task_id: str) -> None:
    dossier.postal_tasks.append(PostalTask(task_id=task_id, shipment_id=shipment.shipment_id, kind=kind, code=code,
                                           at=event.occurred_at, note=event.reason))


def _event(dossier: Dossier, event_type: str, event_id: str, at: datetime, payload: Payload) -> None:
    dossier.events.append(change_event(dossier, event_type, event_id=event_id, now=at, from_status=dossier.status,
                                       actor_id=SYSTEM.user_id, actor_name=SYSTEM.display_name, actor_role=SYSTEM.role,
                                       payload=payload))


def close_task(dossier: Dossier, task_id: str) -> PostalTask | None:
    """Close one of the dossier's postal tasks (an officer saw to it); None if it has no such task. Closing a closed
    task changes nothing."""
    task = next((t for t in dossier.postal_tasks if t.task_id == task_id), None)
    if task is not None:
        task.open = False
    return task


def attention(dossier: Dossier) -> str | None:
    """The key of the agency's postal work queue (sparse index): the earliest J+n day of its shipments under way, or
    `0000-00-00` while an officer's task is open (first in the queue); None when nothing is pending."""
    if any(task.open for task in dossier.postal_tasks):
        return "0000-00-00"
    days: list[date] = [s.expected_by for s in dossier.shipments if not s.is_final]
    return min(days).isoformat() if days else None
