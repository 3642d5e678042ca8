"""Domain events and their registry: one row per event type (name, typed payload, schema, counters fed, who is told)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any, ClassVar, Self

from .metrics import (
    FEE_BEARING,
    FILED,
    FILED_ONLINE_PROCEDURE,
    FINISHED,
    PAID_ONLINE_DOSSIER,
    PAID_ONLINE_PROCEDURE,
    PAYMENT,
    PAYMENT_REQUESTED,
    RATED,
    RECEIVED,
    RESULT,
    RESULT_DIGITISED,
    SHIPMENT_DELIVERED,
    SHIPMENT_REQUESTED,
    SHIPMENT_RETURNED,
    Count,
)
from .shipments import Route, ShipmentKind
from .vocabulary import ApplicantKind, Rating, ResultDelivery


def iso_utc(at: datetime) -> str:
    """An instant as ISO-8601 in UTC with a `Z`, to the millisecond (sortable as text)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventType:
    """Event names, past tense: the bus's `detail-type`. Each has exactly one row in `EVENTS` below."""

    DOSSIER_SUBMITTED = "DossierSubmitted"
    DOSSIER_RECEIVED = "DossierReceived"
    DOSSIER_REFUSED_AT_DOOR = "DossierRefusedAtDoor"
    SUPPLEMENT_REQUESTED = "SupplementRequested"
    SUPPLEMENT_RESUBMITTED = "SupplementResubmitted"
    PROCESSING_STARTED = "ProcessingStarted"
    DOSSIER_TRANSFERRED = "DossierTransferred"
    FEES_REQUESTED = "FeesRequested"
    FEES_CONFIRMED = "FeesConfirmed"
    DOSSIER_APPROVED = "DossierApproved"
    DOSSIER_REFUSED = "DossierRefused"
    PROCESSING_STOPPED = "ProcessingStopped"
    RESULT_READY = "ResultReady"
    RESULT_RETURNED = "ResultReturned"
    APOLOGY_ISSUED = "ApologyIssued"
    DOSSIER_WITHDRAWN = "DossierWithdrawn"
    DOSSIER_RATED = "DossierRated"
    DOSSIER_DUE_SOON = "DossierDueSoon"
    DOSSIER_OVERDUE = "DossierOverdue"
    PAYMENT_REQUESTED = "PaymentRequested"
    PAYMENT_SUCCEEDED = "PaymentSucceeded"
    PAYMENT_FAILED = "PaymentFailed"
    DESK_PAYMENT_RECORDED = "DeskPaymentRecorded"
    SHIPMENT_REQUESTED = "ShipmentRequested"
    SHIPMENT_PICKED_UP = "ShipmentPickedUp"
    SHIPMENT_DELIVERED = "ShipmentDelivered"
    SHIPMENT_FAILED = "ShipmentFailed"
    SHIPMENT_RETURNED = "ShipmentReturned"


# --- payloads: what each event type says beyond its dossier reference, typed ---------------------------------


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _to_json(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_json(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, UnionType):  # `X | None`: its one other member
        (kind,) = [member for member in typing.get_args(kind) if member is not NoneType]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


@dataclass(frozen=True)
class Payload:
    """On the bus a change's payload is its detail's `attributes` object (the v1 shape, kept so archived events
    replay unchanged), each field as JSON: enums by value, dates and instants as ISO-8601 text."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: _to_json(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The payload of a detail that passed its schema (KeyError or ValueError if it did not). A field added to a
        payload later has a default, which an archived event written before it gets."""
        hints = _hints(cls)
        return cls(**{f.name: _from_json(hints[f.name], data[f.name]) for f in fields(cls)
                      if f.name in data or f.default is MISSING})


@dataclass(frozen=True)
class NoPayload(Payload):
    pass


NO_PAYLOAD = NoPayload()


@dataclass(frozen=True)
class Filing(Payload):
    applicant_kind: ApplicantKind
    fees_total: int


@dataclass(frozen=True)
class Reason(Payload):
    reason: str


@dataclass(frozen=True)
class Withdrawal(Payload):
    reason: str | None


@dataclass(frozen=True)
class SupplementRequest(Payload):
    missing: str
    supplement_count: int


@dataclass(frozen=True)
class Transfer(Payload):
    from_agency: str
    to_agency: str


@dataclass(frozen=True)
class FeesDue(Payload):
    amount: int  # whole VND charged by this request
    reason: str | None = None  # what the fees are for, in the officer's words (added after v1's first events)


@dataclass(frozen=True)
class ResultMade(Payload):
    electronic_result: bool
    digitised: bool = False  # every component a file and an electronic result (index 4.2); added after v1's first events


@dataclass(frozen=True)
class ResultHandedOver(Payload):
    via: ResultDelivery


@dataclass(frozen=True)
class Apology(Payload):
    new_appointment_date: date


@dataclass(frozen=True)
class Rated(Payload):
    rating: Rating


@dataclass(frozen=True)
class Deadline(Payload):
    due_at: datetime


@dataclass(frozen=True)
class PaymentAttempt(Payload):
    """An online payment asked for, or one its gateway said failed (`response_code`, the gateway's)."""

    payment_id: str
    gateway: str
    amount: int
    response_code: str | None = None


@dataclass(frozen=True)
class PaymentMade(Payload):
    """Money taken, online (`via` online) or at the desk (`via` desk, `method` cash or card)."""

    payment_id: str
    gateway: str
    via: str
    method: str
    amount: int
    first_online_payment: bool  # the dossier's first successful online payment: it counts as paid online once


@dataclass(frozen=True)
class ShipmentNote(Payload):
    """A postal shipment of the dossier moved: the dossier picked up, or the result sent back (`kind` pickup |
    return). No address or name: those stay in the dossier item."""

    shipment_id: str
    kind: ShipmentKind
    partner: str


@dataclass(frozen=True)
class ShipmentOrdered(Payload):
    shipment_id: str
    kind: ShipmentKind
    partner: str
    route: Route
    expected_by: date  # J+n working days from acceptance


@dataclass(frozen=True)
class ShipmentArrival(Payload):
    shipment_id: str
    kind: ShipmentKind
    partner: str
    late: bool  # delivered after its J+n day


# --- the registry ----------------------------------------------------------------------------------------------


class Notify(str, Enum):
    """Whom the notifications consumer tells of an event."""

    APPLICANT = "applicant"  # SMS, email, the portal's inbox, Zalo
    OFFICERS = "officers"  # the agency holding the dossier
    NOBODY = "nobody"


class Consumer(str, Enum):
    """What reacts to events on the bus. `topology.RULES` gives each deployed one a rule routing exactly the types
    it handles; notifications are not deployed yet (their issue adds the rule, reading `EventSpec.notify`)."""

    COUNTERS = "counters"
    NOTIFICATIONS = "notifications"
    POSTAL = "postal"  # asks the postal partner for pickups and returns (`ROUTED_TO` below)


@dataclass(frozen=True)
class EventSpec:
    name: str
    payload: type[Payload]
    schema: str  # in chalicelib/schemas/; pins `event_type` to `name`
    counts: tuple[Count, ...]
    notify: Notify

    @property
    def notifies_applicant(self) -> bool:
        return self.notify is Notify.APPLICANT

    @property
    def consumers(self) -> frozenset[Consumer]:
        handled = {Consumer.COUNTERS} if self.counts else set()
        if self.notify is not Notify.NOBODY:
            handled.add(Consumer.NOTIFICATIONS)
        handled.update(consumer for consumer, types in ROUTED_TO.items() if self.name in types)
        return frozenset(handled)


_T, _C = EventType, Count.of
_APPLICANT, _OFFICERS, _NOBODY = Notify.APPLICANT, Notify.OFFICERS, Notify.NOBODY
COUNT_FINISHED = _C(FINISHED, on_time="on_time")  # only the event that ends processing carries a verdict

# Who is told: the applicant hears of every change of status, of the decision (approval), of a new holder
# (transfer between agencies) and of an apology's new appointment; not of their own rating. Deadline warnings are
# for the officers of the agency holding the dossier.
EVENTS: tuple[EventSpec, ...] = (
    EventSpec(_T.DOSSIER_SUBMITTED, Filing, "dossier-submitted.v1.json",
              (_C(FILED, channel="channel", form="online_form", applicant="applicant_kind"),
               Count(FEE_BEARING).only_when("fee_bearing"),
               _C(FILED_ONLINE_PROCEDURE, procedure="procedure_code").only_when("filed_online")), _APPLICANT),
    # every received dossier, whatever its channel (at intake, on an officer's receipt, or at the resubmission of a
    # supplement asked for before receipt): the denominator of the on-time rule (index 2.1)
    EventSpec(_T.DOSSIER_RECEIVED, NoPayload, "dossier-received.v1.json", (_C(RECEIVED, channel="channel"),), _APPLICANT),
    EventSpec(_T.DOSSIER_REFUSED_AT_DOOR, Reason, "dossier-refused-at-door.v1.json", (_C("not_received"), COUNT_FINISHED),
              _APPLICANT),
    EventSpec(_T.SUPPLEMENT_REQUESTED, SupplementRequest, "supplement-requested.v1.json", (_C("supplement_requested"),),
              _APPLICANT),
    EventSpec(_T.SUPPLEMENT_RESUBMITTED, NoPayload, "supplement-resubmitted.v1.json", (), _APPLICANT),
    EventSpec(_T.PROCESSING_STARTED, NoPayload, "processing-started.v1.json", (), _APPLICANT),
    EventSpec(_T.DOSSIER_TRANSFERRED, Transfer, "dossier-transferred.v1.json", (_C("transferred_in"),), _APPLICANT),
    EventSpec(_T.FEES_REQUESTED, FeesDue, "fees-requested.v1.json", (), _APPLICANT),
    EventSpec(_T.FEES_CONFIRMED, NoPayload, "fees-confirmed.v1.json", (), _APPLICANT),
    EventSpec(_T.DOSSIER_APPROVED, NoPayload, "dossier-approved.v1.json", (), _APPLICANT),
    EventSpec(_T.DOSSIER_REFUSED, Reason, "dossier-refused.v1.json", (_C("refused"),), _APPLICANT),
    EventSpec(_T.PROCESSING_STOPPED, Reason, "processing-stopped.v1.json", (_C("stopped"), COUNT_FINISHED), _APPLICANT),
    EventSpec(_T.RESULT_READY, ResultMade, "result-ready.v1.json",
              (_C("processed"), COUNT_FINISHED, _C(RESULT, electronic="electronic_result"),
               Count(RESULT_DIGITISED).only_when("digitised")), _APPLICANT),
    EventSpec(_T.RESULT_RETURNED, ResultHandedOver, "result-returned.v1.json", (_C("returned", via="via"),), _APPLICANT),
    EventSpec(_T.APOLOGY_ISSUED, Apology, "apology-issued.v1.json", (_C("apologies"),), _APPLICANT),
    EventSpec(_T.DOSSIER_WITHDRAWN, Withdrawal, "dossier-withdrawn.v1.json", (_C("withdrawn"), COUNT_FINISHED), _APPLICANT),
    EventSpec(_T.DOSSIER_RATED, Rated, "dossier-rated.v1.json", (_C(RATED, rating="rating"),), _NOBODY),
    EventSpec(_T.DOSSIER_DUE_SOON, Deadline, "dossier-due-soon.v1.json", (), _OFFICERS),
    EventSpec(_T.DOSSIER_OVERDUE, Deadline, "dossier-overdue.v1.json", (), _OFFICERS),
    # payments: every transaction that took money by how (the share paid online), dossiers with an online payment
    # (once each), and online payments per procedure (a procedure with any has a counter above zero)
    EventSpec(_T.PAYMENT_REQUESTED, PaymentAttempt, "payment-requested.v1.json",
              (_C(PAYMENT_REQUESTED, gateway="gateway"),), _NOBODY),
    EventSpec(_T.PAYMENT_SUCCEEDED, PaymentMade, "payment-succeeded.v1.json",
              (_C(PAYMENT, via="via"), Count(PAID_ONLINE_DOSSIER).only_when("first_online_payment"),
               _C(PAID_ONLINE_PROCEDURE, procedure="procedure_code")), _APPLICANT),
    EventSpec(_T.PAYMENT_FAILED, PaymentAttempt, "payment-failed.v1.json", (), _APPLICANT),
    EventSpec(_T.DESK_PAYMENT_RECORDED, PaymentMade, "desk-payment-recorded.v1.json", (_C(PAYMENT, via="via"),),
              _APPLICANT),
    # the postal service: a shipment asked for, picked up, delivered (late against J+n or not), failed, returned
    EventSpec(_T.SHIPMENT_REQUESTED, ShipmentOrdered, "shipment-requested.v1.json",
              (_C(SHIPMENT_REQUESTED, kind="kind"),), _APPLICANT),
    EventSpec(_T.SHIPMENT_PICKED_UP, ShipmentNote, "shipment-picked-up.v1.json", (), _APPLICANT),
    EventSpec(_T.SHIPMENT_DELIVERED, ShipmentArrival, "shipment-delivered.v1.json",
              (_C(SHIPMENT_DELIVERED, kind="kind", late="late"),), _NOBODY),
    # a failed attempt tells the applicant and is not counted: one reported after its delivery is only recorded, so a
    # count of them would depend on the order the partner's callbacks arrive in
    EventSpec(_T.SHIPMENT_FAILED, ShipmentNote, "shipment-failed.v1.json", (), _APPLICANT),
    EventSpec(_T.SHIPMENT_RETURNED, ShipmentNote, "shipment-returned.v1.json", (_C(SHIPMENT_RETURNED, kind="kind"),),
              _OFFICERS),
)
ROUTED_TO: dict[Consumer, frozenset[str]] = {
    # what may need a shipment: a postal filing (pickup), a result ready, a payment (a full-online result goes by post
    # once paid online), a withdrawal (the pickup is cancelled)
    Consumer.POSTAL: frozenset({_T.DOSSIER_SUBMITTED, _T.RESULT_READY, _T.PAYMENT_SUCCEEDED, _T.DOSSIER_WITHDRAWN}),
}
"""Consumers that react to event types for what they are, not for their counts or whom they tell."""
_BY_NAME: dict[str, EventSpec] = {spec.name: spec for spec in EVENTS}


def spec_of(event_type: str) -> EventSpec:
    """The registry row of an event type; ValueError for a type we do not know."""
    try:
        return _BY_NAME[event_type]
    except KeyError:
        raise ValueError(f"unknown event type: {event_type!r}") from None


def known_schema(event_type: str) -> str | None:
    """The schema of an event type we publish, or None for a type we do not know (and so cannot check)."""
    spec = _BY_NAME.get(event_type)
    return spec.schema if spec else None


def handled_by(consumer: Consumer) -> tuple[str, ...]:
    """The event types `consumer` handles, in registry order: what its bus rule routes to it."""
    return tuple(spec.name for spec in EVENTS if consumer in spec.consumers)


# --- the events ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DossierEvent:
    """What every dossier event says of its dossier, and the detail fields that come from it."""

    event_id: str
    occurred_at: datetime
    dossier_id: str
    dossier_code: str
    procedure_code: str
    agency_code: str
    agency_path: tuple[str, ...]
    agency_level: str
    channel: str
    online_form: str
    status: str
    status_code: int

    def _reference(self, event_type: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": iso_utc(self.occurred_at),
            "dossier_id": self.dossier_id,
            "dossier_code": self.dossier_code,
            "procedure_code": self.procedure_code,
            "agency_code": self.agency_code,
            "agency_path": list(self.agency_path),
            "agency_level": self.agency_level,
            "channel": self.channel,
            "online_form": self.online_form,
            "status": self.status,
            "status_code": self.status_code,
        }


@dataclass(frozen=True)
class DossierSubmitted(_DossierEvent):
    """A dossier was filed. Its payload sits at the top level of its detail (the v1 shape)."""

    applicant_kind: str
    fees_total: int

    event_type: ClassVar[str] = EventType.DOSSIER_SUBMITTED
    schema: ClassVar[str] = spec_of(EventType.DOSSIER_SUBMITTED).schema

    @property
    def payload(self) -> Filing:
        return Filing(ApplicantKind(self.applicant_kind), self.fees_total)

    @property
    def fee_bearing(self) -> bool:
        """Filed with non-zero fees: a dossier of index 3.6's denominator."""
        return self.fees_total > 0

    @property
    def filed_online(self) -> bool:
        """Filed online, from anywhere or with help at a desk (KenhThucHien = 2): index 3.2's online dossiers."""
        return self.channel in ("online", "online_assisted")

    def detail(self) -> dict[str, Any]:
        return {
            **self._reference(self.event_type),
            "applicant_kind": self.applicant_kind,
            "fees_total": self.fees_total,
        }


@dataclass(frozen=True)
class DossierChanged(_DossierEvent):
    """Something happened to a dossier after its submission: a transition, or a deadline warning.

    One shape for all of them (`dossier-change.v1.json`), each type with its own schema file that pins
    `event_type` and its `attributes` (the payload). Names the agency and the officer, as Decree 224/2026 asks
    of status notices.
    """

    event_type: str
    from_status: str
    actor_id: str | None = None  # officers and the system; an applicant's id is not published
    actor_name: str | None = None
    actor_role: str | None = None
    on_time: bool | None = None  # set when processing ends
    payload: Payload = NO_PAYLOAD  # of the type its registry row names, checked on construction

    def __post_init__(self) -> None:
        expected = spec_of(self.event_type).payload
        if self.event_type == EventType.DOSSIER_SUBMITTED or type(self.payload) is not expected:
            raise TypeError(f"{self.event_type} carries {expected.__name__}, not {type(self.payload).__name__}")

    @property
    def schema(self) -> str:
        return spec_of(self.event_type).schema

    @property
    def attributes(self) -> tuple[tuple[str, Any], ...]:
        """The payload as the detail's `attributes` carry it (JSON values), by name."""
        return tuple(sorted(self.payload.to_json().items()))

    def detail(self) -> dict[str, Any]:
        return {
            **self._reference(self.event_type),
            "from_status": self.from_status,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "on_time": self.on_time,
            "attributes": self.payload.to_json(),
        }


DomainEvent = DossierSubmitted | DossierChanged

_REFERENCE = tuple(f.name for f in fields(_DossierEvent) if f.name not in ("occurred_at", "agency_path"))


def from_detail(detail: Mapping[str, Any]) -> DomainEvent:
    """The typed event a bus detail describes, once it has passed its schema: what the counters consumer folds,
    and what a rebuild replaying the bus archive would read. ValueError, KeyError or TypeError if it is not one."""
    spec = spec_of(detail["event_type"])
    reference: dict[str, Any] = {name: detail[name] for name in _REFERENCE}
    reference["occurred_at"] = datetime.fromisoformat(detail["occurred_at"])
    reference["agency_path"] = tuple(detail["agency_path"])
    if spec.name == EventType.DOSSIER_SUBMITTED:
        return DossierSubmitted(**reference, applicant_kind=detail["applicant_kind"], fees_total=detail["fees_total"])
    return DossierChanged(
        **reference, event_type=spec.name, from_status=detail["from_status"], actor_id=detail["actor_id"],
        actor_name=detail["actor_name"], actor_role=detail["actor_role"], on_time=detail["on_time"],
        payload=spec.payload.from_json(detail["attributes"]),
    )
