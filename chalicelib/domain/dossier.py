"""The dossier aggregate and the rules that admit a new submission."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from . import directives
from .calendar import ProcessingTime, WorkingCalendar, business_date
from .catalogue import Agency, Procedure
from .codes import dossier_code
from .errors import RuleViolationError
from .events import DomainEvent, DossierChanged, DossierSubmitted, EventType
from .history import Actor
from .shipments import Address, Shipment
from .vocabulary import ApplicantKind, Channel, OnlineForm, ResultDelivery, Status

RECEIVED_AT_INTAKE = frozenset({Channel.DIRECT, Channel.ONLINE_ASSISTED, Channel.POSTAL})
"""Channels whose dossiers are received the moment they are filed: at a desk (paper, or online with help there) or
through the public postal service. Dossiers filed online from anywhere await an officer's receipt."""


@dataclass(frozen=True)
class Applicant:
    kind: ApplicantKind
    name: str
    national_id: str
    phone: str
    email: str | None = None


@dataclass(frozen=True)
class DocumentFile:
    """A component's file in the document store: where it is, its size and its SHA-256 (base64)."""

    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Document:
    type: str
    name: str
    file: DocumentFile | None = None


@dataclass(frozen=True)
class SubmitDossier:
    """Command: an applicant files a dossier for a procedure at an agency."""

    owner_id: str
    procedure_code: str
    agency_code: str
    channel: Channel
    applicant: Applicant
    documents: tuple[Document, ...]
    result_delivery: ResultDelivery
    pickup_address: Address | None = None  # channel postal: the postal service fetches the paper dossier here
    delivery_address: Address | None = None  # result_delivery post: the result is delivered here

    @property
    def awaits_pickup(self) -> bool:
        return self.channel == Channel.POSTAL and self.pickup_address is not None


@dataclass
class PostalTask:
    """Something about a shipment an officer must see to: a failed delivery, a parcel returned to sender, a partner's
    report that can never apply. Open until the shipment is delivered or an officer closes it."""

    task_id: str
    shipment_id: str
    kind: str  # failed | returned | unapplicable
    code: str  # the stable code of what happened
    at: datetime
    note: str | None = None
    open: bool = True


@dataclass
class SupplementRecord:
    requested_at: datetime
    missing: str
    resubmitted_at: datetime | None = None


@dataclass
class Dossier:
    id: str
    code: str
    owner_id: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    agency_path: tuple[str, ...]
    agency_level: str
    channel: Channel
    online_form: OnlineForm
    applicant: Applicant
    documents: tuple[Document, ...]
    result_delivery: ResultDelivery
    status: Status
    submitted_at: datetime
    appointment_at: datetime
    fees_total: int
    legal_days: int = 0  # the processing time in working days, for dossiers stored before `processing_time`
    processing_time: ProcessingTime | None = None  # the procedure's, with its unit; None on dossiers stored before
    version: int = 0
    received_at: datetime | None = None
    # `appointment_at` is the original appointment on the receipt (Ngày hẹn trả), judged against and never replaced.
    # `due_at`: when the office must finish by: the last office-hours instant at or before the on-time limit (the
    # original appointment + the raw time waited on closed supplements), or, once an apology set a later one, the
    # latest new appointment. None until received.
    due_at: datetime | None = None
    new_appointment_at: datetime | None = None  # the latest apology's new appointment, beside the original
    supplements: list[SupplementRecord] = field(default_factory=list)
    finished_at: datetime | None = None
    verdict: str | None = None  # on_time | late, fixed when processing ends
    decision: str | None = None  # approved | refused (a refusal with reasons is a result too)
    decision_reason: str | None = None  # the reasons of a refusal decision
    reason: str | None = None  # of a refusal at the door or a stop
    result_reference: str | None = None
    result_file_key: str | None = None
    returned_via: str | None = None
    apologies: int = 0
    rating: str | None = None
    rating_comment: str | None = None
    paid_online_total: int = 0  # VND confirmed by online payments
    paid_total: int = 0  # VND paid, online or at the desk
    fees_charged: int = 0  # VND charged so far: at filing (full online) and by each officer's request for fees
    pending_txn_ref: str | None = None  # the online payment awaiting its gateway's verdict, if any
    payments_made: int = 0  # payments recorded against the dossier, online or at the desk: numbers their references
    pickup_address: Address | None = None
    delivery_address: Address | None = None
    shipments: list[Shipment] = field(default_factory=list)
    postal_tasks: list[PostalTask] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def fees_due(self) -> int:
        """What the applicant still owes: charged less paid (an overpayment is an officer's matter, not a credit)."""
        return max(self.fees_charged - self.paid_total, 0)

    @property
    def was_received(self) -> bool:
        """Received by the agency: only such dossiers are judged on time (index 2.1: "hồ sơ được tiếp nhận")."""
        return self.received_at is not None

    @property
    def is_open(self) -> bool:
        """Still being handled: it has a deadline and no end of processing yet."""
        return self.finished_at is None and self.status not in (Status.NOT_RECEIVED, Status.WITHDRAWN)

    def may_apologise(self) -> bool:
        """An apology may be issued while the agency holds the dossier, before its due date too, once the office knows
        it cannot meet it ("không thể trả kết quả đúng thời gian đã hẹn")."""
        return self.is_open and self.due_at is not None and self.status != Status.REGISTERED

    def owes_apology(self, now: datetime) -> bool:
        """Late and still open with no apology since the deadline passed (a new appointment clears it)."""
        return self.is_open and self.due_at is not None and now > self.due_at and self.status != Status.REGISTERED


def charged_at_filing(procedure: Procedure, channel: Channel) -> bool:
    """A full-online procedure filed online is paid with its application (the national portal's "toàn trình": filed,
    paid and returned online); every other dossier is charged when an officer asks (`request-fees`)."""
    return channel.is_online and procedure.online_form == OnlineForm.FULL


def check_admissible(cmd: SubmitDossier, procedure: Procedure, agency: Agency, business_day: date) -> None:
    """Raise `RuleViolationError` with the rule's own code when the catalogue or a directive forbids this."""
    if not procedure.is_offered_at(agency):
        raise RuleViolationError(
            f"Thủ tục {procedure.code} không được giải quyết tại {agency.name}. "
            f"(Procedure {procedure.code} is not handled by agency {agency.code}.)",
            code="PROCEDURE_NOT_AT_AGENCY",
        )
    if cmd.channel.is_online and procedure.online_form == OnlineForm.NONE:
        raise RuleViolationError(
            f"Thủ tục {procedure.code} chưa cung cấp dịch vụ công trực tuyến; vui lòng nộp tại bộ phận một cửa. "
            "(This procedure is not offered online.)",
            code="PROCEDURE_NOT_ONLINE",
        )
    if procedure.internal and not cmd.applicant.kind.files_internal_dossiers:
        raise RuleViolationError(
            "Đây là thủ tục nội bộ, chỉ cơ quan, đơn vị nhà nước được nộp. (Internal procedures are filed by state bodies.)",
            code="INTERNAL_PROCEDURE",
        )
    if cmd.result_delivery == ResultDelivery.POST and not procedure.postal_result:
        raise RuleViolationError(
            "Kết quả của thủ tục này không được trả qua bưu chính. (Results of this procedure cannot go by post.)",
            code="POSTAL_RESULT_NOT_ALLOWED",
        )
    if cmd.result_delivery == ResultDelivery.ONLINE and procedure.online_form == OnlineForm.NONE:
        raise RuleViolationError(
            "Thủ tục này không trả kết quả trực tuyến. (This procedure does not issue results online.)",
            code="ONLINE_RESULT_NOT_ALLOWED",
        )
    directives.enforce(
        "intake",
        directives.Facts(
            business_day=business_day,
            channel=cmd.channel,
            applicant_kind=cmd.applicant.kind,
            procedure_internal=procedure.internal,
            online_form=procedure.online_form,
            paper_free_days=procedure.paper_free_days,
            result_delivery=cmd.result_delivery,
        ),
    )
    given = {doc.type for doc in cmd.documents}
    missing = [doc for doc in procedure.required_documents if doc.type not in given]
    if missing:
        raise RuleViolationError(
            "Hồ sơ còn thiếu giấy tờ: " + "; ".join(doc.name for doc in missing) + ". (Required documents are missing.)",
            code="MISSING_DOCUMENTS",
            details={"missing_document_types": [doc.type for doc in missing]},
        )


def submit(
    cmd: SubmitDossier,
    procedure: Procedure,
    agency: Agency,
    calendar: WorkingCalendar,
    *,
    now: datetime,
    dossier_id: str,
    event_id: str,
    sequence: int,
    receiver: Actor | None = None,
) -> Dossier:
    """A new dossier: filed online from anywhere, it is registered and awaits receipt; filed at a desk (in person or
    online with help there) or by post, it is received at intake, and its `DossierReceived` event (id
    `{event_id}:received`, naming `receiver` if an officer) records the receipt time, as every received dossier's does.

    The appointment is counted from `now` in working days; for online filings it is provisional until an
    officer receives the dossier.
    """
    check_admissible(cmd, procedure, agency, business_date(now))
    # a postal filing with a pickup address waits for the postal service to bring the paper dossier to the desk: it is
    # received (the clock starts) when the pickup is delivered there; without one it was handed in at a post office
    received = cmd.channel in RECEIVED_AT_INTAKE and not cmd.awaits_pickup
    status = Status.RECEIVED if received else Status.REGISTERED
    dossier = Dossier(
        id=dossier_id,
        code=dossier_code(agency.code, business_date(now), sequence),
        owner_id=cmd.owner_id,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency_code=agency.code,
        agency_path=agency.path,
        agency_level=agency.level.value,
        channel=cmd.channel,
        online_form=procedure.online_form,
        applicant=cmd.applicant,
        documents=cmd.documents,
        result_delivery=cmd.result_delivery,
        status=status,
        submitted_at=now,
        appointment_at=calendar.appointment(now, procedure.processing_time),
        fees_total=procedure.fees_for(cmd.applicant.kind, online=cmd.channel.is_online),
        legal_days=procedure.processing_time.working_days or 0,
        processing_time=procedure.processing_time,
        pickup_address=cmd.pickup_address,
        delivery_address=cmd.delivery_address,
    )
    if charged_at_filing(procedure, cmd.channel):
        dossier.fees_charged = dossier.fees_total
    if status == Status.RECEIVED:  # received at intake: the clock starts now
        dossier.received_at = now
        dossier.due_at = dossier.appointment_at
    submitted = DossierSubmitted(
        event_id=event_id,
        occurred_at=now,
        dossier_id=dossier.id,
        dossier_code=dossier.code,
        procedure_code=procedure.code,
        agency_code=agency.code,
        agency_path=agency.path,
        agency_level=agency.level.value,
        channel=cmd.channel.value,
        online_form=procedure.online_form.value,
        applicant_kind=cmd.applicant.kind.value,
        status=status.value,
        status_code=status.national_code,
        fees_total=dossier.fees_total,
    )
    dossier.events.append(submitted)
    if status == Status.RECEIVED:
        officer = receiver is not None and receiver.role == "officer"
        dossier.events.append(DossierChanged(
            event_type=EventType.DOSSIER_RECEIVED, event_id=f"{event_id}:received", occurred_at=now,
            dossier_id=dossier.id, dossier_code=dossier.code, procedure_code=procedure.code, agency_code=agency.code,
            agency_path=agency.path, agency_level=agency.level.value, channel=cmd.channel.value,
            online_form=procedure.online_form.value, from_status=Status.REGISTERED.value, status=status.value,
            status_code=status.national_code, actor_id=receiver.user_id if officer and receiver else None,
            actor_name=receiver.display_name if officer and receiver else None,
            actor_role=receiver.role if receiver else "system",
        ))
    return dossier
