"""Use cases of the postal service: ask the partner for the shipments a dossier needs (the postal consumer, never an
API request), and apply a partner's verified callback exactly once.

Exactly once: a callback's `webhook-id` is recorded in the same transaction as the change it makes, on condition that
it is not there yet; a redelivery loses that condition and is acknowledged as a duplicate. Asking the partner twice
for one shipment (a redelivered event, a lost commit) is one shipment: our shipment id is its order number.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from chalicelib.domain import access, postal
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.dossier import Dossier, PostalTask
from chalicelib.domain.errors import (
    AlreadyRecordedError,
    DomainError,
    NotFoundError,
    TransactionConflictError,
    UpstreamUnavailableError,
    ValidationError,
    VersionConflictError,
    dossier_not_found,
)
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.payments import SYSTEM
from chalicelib.domain.shipments import Address, Applied, PartnerEvent, PartnerEventType, Route, ShipmentKind, dossier_of
from chalicelib.integrations.postal_partner import PostalPartner, ShipmentOrder
from chalicelib.services.ports import UnitOfWork

A = TypeVar("A")
R = TypeVar("R")
ATTEMPTS = 6  # commits tried against racing writers (an officer, another callback)
PARTNER_ATTEMPTS = 4  # calls to the partner per message; then the queue redelivers it, and at last dead-letters it


def _backoff(attempt: int, base_s: float = 0.005) -> None:
    time.sleep(random.uniform(0, base_s * 2**attempt))


def desk_address(dossier: Dossier) -> Address:
    """The desk of the agency holding the dossier: its commune (communes' codes carry it) and province."""
    root, _, rest = dossier.agency_code.partition(".")
    commune = rest[1:] if rest.startswith("C") else ""
    return Address(street=dossier.agency_code, commune_code=commune, province_code=root[1:],
                   recipient_name=f"Bộ phận một cửa {dossier.agency_code}", phone="")


def _order(dossier: Dossier, kind: ShipmentKind, shipment_id: str) -> ShipmentOrder:
    desk = desk_address(dossier)
    if kind is ShipmentKind.PICKUP:
        assert dossier.pickup_address is not None
        return ShipmentOrder(shipment_id, kind, dossier.pickup_address, desk, f"Ho so {dossier.code}")
    assert dossier.delivery_address is not None
    return ShipmentOrder(shipment_id, kind, desk, dossier.delivery_address, f"Ket qua ho so {dossier.code}")


def _with_retries(call: Callable[[A], R], argument: A, backoff_s: float) -> R:
    """The partner's answer to `call(argument)`, asked again with backoff while it is unavailable."""
    for attempt in range(PARTNER_ATTEMPTS):
        try:
            return call(argument)
        except UpstreamUnavailableError:
            if attempt == PARTNER_ATTEMPTS - 1:
                raise
            _backoff(attempt, backoff_s)
    raise AssertionError("unreachable")


def request_shipments(dossier_id: str, partner: PostalPartner, new_uow: Callable[[], UnitOfWork], *,
                      now: Callable[[], datetime], new_id: Callable[[], str],
                      calendar_for: Callable[[int], WorkingCalendar], service_levels: dict[Route, int],
                      backoff_s: float = 0.2) -> list[str]:
    """Bring the dossier's shipments in line with what it needs now: ask for those it lacks, cancel a withdrawn
    dossier's pickup. Returns the shipment ids it asked for or cancelled. Raises `UpstreamUnavailableError` when the
    partner stays unavailable (the message is retried by its queue)."""
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier = uow.get_dossier(dossier_id)
        if dossier is None:
            return []
        status, done = dossier.status.value, []
        for kind in postal.shipments_wanted(dossier):
            shipment_id = postal.new_shipment_id(dossier, kind)
            receipt = _with_retries(partner.create, _order(dossier, kind, shipment_id), backoff_s)
            at = now()
            postal.add_shipment(dossier, kind, shipment_id_=shipment_id, partner=partner.name,
                                waybill=receipt.waybill, accepted_at=receipt.accepted_at,
                                service_levels=service_levels, calendar=calendar_for(receipt.accepted_at.year), now=at,
                                event_id=new_id())
            done.append(shipment_id)
        cancel = postal.pickup_to_cancel(dossier)
        if cancel is not None:
            _with_retries(partner.cancel, cancel.shipment_id, backoff_s)
            postal.cancel_shipment(cancel)
            done.append(cancel.shipment_id)
        if not done:
            return []
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now(), actor=SYSTEM, action="postal_shipments", from_status=status,
            to_status=dossier.status.value, note=", ".join(done),
        ))
        try:
            uow.commit()
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)  # an officer or a callback changed the dossier: read again (the partner is idempotent)
            continue
        return done
    raise TransactionConflictError("Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)")


def request_for_messages(messages: list[tuple[str, str]], partner: PostalPartner,
                         new_uow: Callable[[], UnitOfWork], **kwargs: Any) -> tuple[list[str], int]:
    """`request_shipments` for each (message id, dossier id) of a batch; the ids of the messages that failed, and the
    shipments asked for or cancelled. Once the partner is found unavailable, the rest of the batch fails at once
    (retried by the queue later) rather than waiting on the partner again, so a batch ends well within its timeout."""
    failed: list[str] = []
    done = 0
    partner_down = False
    for message_id, dossier_id in messages:
        if partner_down:
            failed.append(message_id)
            continue
        try:
            done += len(request_shipments(dossier_id, partner, new_uow, **kwargs))
        except UpstreamUnavailableError:
            partner_down = True
            failed.append(message_id)
        except DomainError:  # the partner refused, the table is busy: this message is retried, the batch goes on
            failed.append(message_id)
    return failed, done


def close_task(dossier_id: str, task_id: str, new_uow: Callable[[], UnitOfWork], *, actor: Actor, now: datetime,
               note: str | None = None, request_id: str | None = None) -> PostalTask:
    """An officer of the holding agency closes a postal task (the parcel came back and the applicant was called, the
    partner's odd report was taken up); closing it again answers the same and writes nothing."""
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier = uow.get_dossier(dossier_id)
        if dossier is None:
            raise dossier_not_found(dossier_id)
        access.authorise_postal_task(actor, dossier)
        was_open = any(t.task_id == task_id and t.open for t in dossier.postal_tasks)
        task = postal.close_task(dossier, task_id)
        if task is None:
            raise NotFoundError("Không có việc bưu chính này. (No such postal task.)", code="POSTAL_TASK_NOT_FOUND")
        if not was_open:
            return task
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now, actor=actor, action="close_postal_task",
            from_status=dossier.status.value, to_status=dossier.status.value,
            note=f"{task.code} ({task.shipment_id})" + (f": {note}" if note else ""), internal=True,
            request_id=request_id,
        ))
        try:
            uow.commit()
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)
            continue
        return task
    raise TransactionConflictError("Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)")


@dataclass(frozen=True)
class CallbackAnswer:
    """What we answer a partner (HTTP 200 either way: retrying would not change it). `result`: applied | recorded |
    duplicate | unapplicable; `code`: stable, for the partner's logs and our officers."""

    result: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return {"result": self.result, "code": self.code}


def partner_event(body: dict[str, Any]) -> PartnerEvent:
    """The event a callback body (valid against `postal-event.v1.json`) reports."""
    data = body["data"]
    try:  # the schema shapes the text; a day that does not exist (2026-02-30) only fails here
        occurred_at = datetime.fromisoformat(data["occurred_at"]).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValidationError("occurred_at không phải một thời điểm hợp lệ. (occurred_at is not a valid instant.)",
                              code="VALIDATION_FAILED", details={"field": "data.occurred_at"}) from exc
    return PartnerEvent(type=PartnerEventType(body["type"]), shipment_id=data["shipment_id"], waybill=data["waybill"],
                        occurred_at=occurred_at, reason=data.get("reason"))


def apply_callback(partner: str, webhook_id: str, body: dict[str, Any], new_uow: Callable[[], UnitOfWork], *,
                   now: datetime, new_id: Callable[[], str],
                   calendar_for: Callable[[int], WorkingCalendar]) -> CallbackAnswer:
    """Apply a verified callback to the shipment it names, exactly once per `webhook_id`."""
    event = partner_event(body)
    dossier_id = dossier_of(event.shipment_id)
    for attempt in range(ATTEMPTS):
        uow = new_uow()
        dossier = None if dossier_id is None else uow.get_dossier(dossier_id)
        shipment = None if dossier is None else postal.find_shipment(dossier, event.shipment_id)
        if dossier is None or shipment is None or shipment.partner != partner:
            answer = CallbackAnswer("unapplicable", "SHIPMENT_UNKNOWN")  # kept, with its body, for an officer
            uow.record_callback(partner, webhook_id, result=answer.result, code=answer.code, now=now, body=body)
            try:
                uow.commit()
            except AlreadyRecordedError:
                return CallbackAnswer("duplicate", "ALREADY_RECEIVED")
            return answer
        status = dossier.status.value
        report = postal.apply_report(dossier, shipment, event, now=now, calendar=calendar_for(event.occurred_at.year),
                                     new_id=new_id)
        application = report.application
        answer = CallbackAnswer(
            "applied" if application.result is Applied.MOVED else application.result.value, application.code)
        uow.update_dossier(dossier, HistoryEntry(
            version=dossier.version + 1, at=now, actor=SYSTEM, action=f"postal_{event.type.status.value}",
            from_status=status, to_status=dossier.status.value, note=report.note,
            internal=application.result is Applied.UNAPPLICABLE,
        ))
        uow.record_callback(partner, webhook_id, result=answer.result, code=answer.code, now=now)
        try:
            uow.commit()
        except AlreadyRecordedError:
            return CallbackAnswer("duplicate", "ALREADY_RECEIVED")
        except (VersionConflictError, TransactionConflictError):
            _backoff(attempt)  # another callback of this dossier committed first: apply on top of it
            continue
        return answer
    raise TransactionConflictError("Hệ thống đang bận với hồ sơ này; vui lòng thử lại. (A concurrent change; retry.)")
