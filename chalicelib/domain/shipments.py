"""Postal shipments: addresses, the route and its service level (J+n working days), and a shipment's state machine.

A shipment only moves forward. Its statuses are ranked (requested < accepted < picked up < failed attempt <
delivered | returned to sender); a partner's event is recorded whenever it comes, and the shipment takes its status
only if that ranks higher than the current one. Events that arrive out of order (delivered before picked up) thus
end where applying them in `occurred_at` order would end, and a late, older event never moves a shipment back.
A second terminal event that contradicts the first (returned after delivered) can never apply: it is kept for an
officer. Pure: no I/O, time passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from .calendar import WorkingCalendar, business_date


@dataclass(frozen=True)
class Address:
    """Where a shipment is picked up or delivered. Personal data: stays in the dossier item, never in events."""

    street: str
    commune_code: str  # the ward or commune, `vietnam-provinces` code (5 digits)
    province_code: str  # 2 digits
    recipient_name: str
    phone: str


class ShipmentKind(StrEnum):
    PICKUP = "pickup"  # the applicant's paper dossier, from their address to the desk
    RETURN = "return"  # the result, from the desk to the applicant's address


class Route(StrEnum):
    SAME_COMMUNE = "same_commune"
    SAME_PROVINCE = "same_province"
    OTHER_PROVINCE = "other_province"


DEFAULT_SERVICE_LEVELS: dict[Route, int] = {Route.SAME_COMMUNE: 1, Route.SAME_PROVINCE: 2, Route.OTHER_PROVINCE: 4}
"""Working days from acceptance to delivery by route (DOMAIN: J+1 within a district up to J+4 between provinces);
the province configures its own with `POSTAL_SERVICE_LEVELS`."""


def parse_service_levels(text: str) -> dict[Route, int]:
    """`same_commune=1,same_province=2,other_province=4` (any subset; the rest keep their defaults)."""
    levels = dict(DEFAULT_SERVICE_LEVELS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, days = part.partition("=")
        value = int(days)
        if not 0 <= value <= 30:
            raise ValueError(f"service level out of range: {part!r}")
        levels[Route(name.strip())] = value
    return levels


def route_between(agency_code: str, address: Address) -> Route:
    """The route between an agency and an address. Agency codes carry their place: `H{pp}` the province,
    `H{pp}.C{ward}` a commune's people's committee (see `infra/seed.py`)."""
    province, _, rest = agency_code.partition(".")
    if province[1:] != address.province_code:
        return Route.OTHER_PROVINCE
    if rest.startswith("C") and rest[1:].lstrip("0") == address.commune_code.lstrip("0"):
        return Route.SAME_COMMUNE
    return Route.SAME_PROVINCE


def expected_by(accepted_at: datetime, working_days: int, calendar: WorkingCalendar) -> date:
    """J+n: the n-th working day after the (Vietnam) day of acceptance; J+0 is the day itself, or the next working
    day when accepted on a day off."""
    day = business_date(accepted_at)
    if working_days == 0:
        return day if calendar.is_working_day(day) else calendar.next_working_day(day)
    for _ in range(working_days):
        day = calendar.next_working_day(day)
    return day


class ShipmentStatus(StrEnum):
    REQUESTED = "requested"  # asked of the partner, waybill issued
    ACCEPTED = "accepted"  # the partner confirmed it (the J+n clock starts)
    PICKED_UP = "picked_up"
    FAILED = "failed"  # a delivery attempt failed; the partner tries again or returns it
    DELIVERED = "delivered"
    RETURNED = "returned"  # returned to sender
    CANCELLED = "cancelled"


RANK: dict[ShipmentStatus, int] = {
    ShipmentStatus.REQUESTED: 0, ShipmentStatus.ACCEPTED: 1, ShipmentStatus.PICKED_UP: 2, ShipmentStatus.FAILED: 3,
    ShipmentStatus.DELIVERED: 4, ShipmentStatus.RETURNED: 4, ShipmentStatus.CANCELLED: 4,
}
FINAL = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.CANCELLED})


class PartnerEventType(StrEnum):
    """The partner's callback types (`postal-event.v1.json`) and the status each reports."""

    ACCEPTED = "shipment.accepted"
    PICKED_UP = "shipment.picked_up"
    DELIVERED = "shipment.delivered"
    FAILED = "shipment.failed"
    RETURNED = "shipment.returned"

    @property
    def status(self) -> ShipmentStatus:
        return ShipmentStatus(self.value.removeprefix("shipment."))


@dataclass(frozen=True)
class PartnerEvent:
    type: PartnerEventType
    shipment_id: str
    waybill: str
    occurred_at: datetime
    reason: str | None = None


@dataclass
class Shipment:
    shipment_id: str  # ours, the partner's order number: `{dossier id}-{P|R}{n}`
    kind: ShipmentKind
    partner: str
    waybill: str
    status: ShipmentStatus
    route: Route
    requested_at: datetime
    accepted_at: datetime
    expected_by: date
    service_days: int
    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    returned_at: datetime | None = None
    failed_attempts: list[datetime] = field(default_factory=list)
    last_reason: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def overdue(self, today: date) -> bool:
        return not self.is_final and today > self.expected_by

    @property
    def late(self) -> bool:
        """Delivered after its J+n day (only meaningful once delivered)."""
        return self.delivered_at is not None and business_date(self.delivered_at) > self.expected_by


SKEW = timedelta(minutes=10)
"""How far ahead of our clock a partner's `occurred_at` may be (clock skew); further is a bad report."""


class Applied(StrEnum):
    """What a partner's event did to its shipment: a stable code, answered to the partner and kept in the history."""

    MOVED = "applied"  # the shipment took the event's status
    RECORDED = "recorded"  # an older event arriving late: its time recorded, the status kept (never backwards)
    UNAPPLICABLE = "unapplicable"  # can never apply (waybill mismatch, contradicts a final status, bad time)


@dataclass(frozen=True)
class Application:
    result: Applied
    code: str  # SHIPMENT_ADVANCED, SHIPMENT_NOT_ADVANCED, WAYBILL_MISMATCH, SHIPMENT_ALREADY_FINAL, OCCURRED_AT_INVALID
    before: ShipmentStatus
    after: ShipmentStatus


def apply_event(shipment: Shipment, event: PartnerEvent, now: datetime) -> Application:
    """Record `event` on `shipment`; see the module's doc for the order rule. The J+n day counts from the acceptance
    the partner answered our order with, never from a later report: it must not depend on the reports' order."""
    before = shipment.status

    def refused(code: str) -> Application:
        return Application(Applied.UNAPPLICABLE, code, before, before)

    if event.waybill != shipment.waybill:
        return refused("WAYBILL_MISMATCH")
    if event.occurred_at > now + SKEW or event.occurred_at < shipment.requested_at - SKEW:
        return refused("OCCURRED_AT_INVALID")
    target = event.type.status
    if shipment.is_final and target in FINAL and target is not shipment.status:
        return refused("SHIPMENT_ALREADY_FINAL")
    new_failure = target is ShipmentStatus.FAILED and event.occurred_at not in shipment.failed_attempts and all(
        event.occurred_at > at for at in shipment.failed_attempts)
    _record_time(shipment, event)
    if RANK[target] > RANK[before] or (new_failure and before is ShipmentStatus.FAILED):
        shipment.status = target
        return Application(Applied.MOVED, "SHIPMENT_ADVANCED", before, target)
    return Application(Applied.RECORDED, "SHIPMENT_NOT_ADVANCED", before, before)


def _record_time(shipment: Shipment, event: PartnerEvent) -> None:
    at = event.occurred_at
    kind = event.type
    if kind is PartnerEventType.PICKED_UP:
        shipment.picked_up_at = min(filter(None, (shipment.picked_up_at, at)))
    elif kind is PartnerEventType.DELIVERED:
        shipment.delivered_at = min(filter(None, (shipment.delivered_at, at)))
    elif kind is PartnerEventType.RETURNED:
        shipment.returned_at = min(filter(None, (shipment.returned_at, at)))
    elif kind is PartnerEventType.FAILED and at not in shipment.failed_attempts:
        shipment.failed_attempts.append(at)
        shipment.failed_attempts.sort()
    if event.reason:
        shipment.last_reason = event.reason


def shipment_id(dossier_id: str, kind: ShipmentKind, number: int = 1) -> str:
    return f"{dossier_id}-{'P' if kind is ShipmentKind.PICKUP else 'R'}{number}"


def dossier_of(shipment_id_: str) -> str | None:
    """The dossier a shipment id names, or None if it is not one of ours."""
    dossier_id, _, suffix = shipment_id_.partition("-")
    if len(dossier_id) != 32 or suffix[:1] not in ("P", "R") or not suffix[1:].isdigit():
        return None
    return dossier_id
