"""In-memory fakes of the ports (`chalicelib/services/ports.py`) and the outside parties, for fast use-case tests.

They keep the promises the real adapters keep: a unit of work commits all its writes or none, a stale version
is a `VersionConflictError`, an Idempotency-Key or a once-only record written twice fails its condition, and the
outbox holds each committed event. State is held in one `InMemoryTables`, which a unit of work and the reader share.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain.calendar import DAY_OFF, WORKING_DAY, DeclaredDay, WorkingCalendar
from chalicelib.domain.catalogue import Agency, Procedure
from chalicelib.domain.catalogue_search import ListedProcedure
from chalicelib.domain.counting import ApplyStats, Deltas
from chalicelib.domain.directives import PaperFreeDays
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import (
    AlreadyRecordedError,
    IdempotencyKeyRaceError,
    IntegrationError,
    SequenceTakenError,
    UpstreamUnavailableError,
    VersionConflictError,
    agency_not_found,
    procedure_not_found,
)
from chalicelib.domain.events import DomainEvent, iso_utc
from chalicelib.domain.history import HistoryEntry
from chalicelib.domain.idempotency import RememberedResponse
from chalicelib.domain.notifications import Channel, Notification, NotificationStatus, Preferences, may_move
from chalicelib.domain.payments import (
    GatewayName,
    GatewayReport,
    Outcome,
    Payment,
    PaymentOrder,
    PaymentStatus,
    SettleResult,
)
from chalicelib.integrations.documents import PresignedUpload, StoredObject
from chalicelib.integrations.event_bus import OutgoingEvent
from chalicelib.integrations.messaging import OutgoingMessage
from chalicelib.integrations.payment_gateway import MalformedCallbackError, SignatureError
from chalicelib.integrations.postal_partner import ShipmentOrder, ShipmentReceipt
from chalicelib.services.ports import Cursor, Page
from chalicelib.store.sequences import GUESSES, Claim, SequenceCache, sequence_key
from chalicelib.validation import validate


class InMemoryCatalogue:
    def __init__(self, agencies: Sequence[Agency] = (), procedures: Sequence[Procedure] = ()) -> None:
        self.agencies = {a.code: a for a in agencies}
        self.procedures = {p.code: p for p in procedures}

    def agency(self, code: str) -> Agency:
        if code not in self.agencies:
            raise agency_not_found(code)
        return self.agencies[code]

    def procedure(self, code: str) -> Procedure:
        if code not in self.procedures:
            raise procedure_not_found(code)
        return self.procedures[code]

    def agency_codes(self) -> list[str]:
        return sorted(self.agencies)


class InMemoryListings:
    """`CatalogueListings` over an `InMemoryCatalogue`: every procedure with its search key, in code order."""

    def __init__(self, catalogue: InMemoryCatalogue) -> None:
        self.catalogue = catalogue

    def listed_procedures(self) -> list[ListedProcedure]:
        return [ListedProcedure.of(p) for _, p in sorted(self.catalogue.procedures.items())]

    def agencies(self) -> list[Agency]:
        return [a for _, a in sorted(self.catalogue.agencies.items())]


@dataclass
class InMemoryTables:
    """What the dossiers table holds: dossiers at their versions, history, outbox, sequences, remembered answers."""

    dossiers: dict[str, Dossier] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    outbox: list[DomainEvent] = field(default_factory=list)
    watch_keys: set[str] = field(default_factory=set)
    sequences: Counter[str] = field(default_factory=Counter)
    remembered: dict[tuple[str, str], RememberedResponse] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)  # by txn_ref, at their versions
    receipts: set[tuple[str, str]] = field(default_factory=set)  # (dossier id, receipt number)
    callbacks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (partner, webhook id) → record
    commits: int = 0
    requests: int = 0  # what DynamoDB would have been sent: transactions (cancelled ones too) and sequence ADDs


def _page(dossiers: list[Dossier], limit: int, cursor: Cursor | None, index: str, partition: str,
          sort_key: Callable[[Dossier], str], descending: bool) -> Page:
    """Pages with cursors shaped like DynamoDB's last evaluated keys, so the use cases' cursor checks apply."""
    ordered = sorted(dossiers, key=lambda d: (sort_key(d), d.id), reverse=descending)
    if cursor is not None:
        after = (cursor[index]["S"], cursor["pk"]["S"].removeprefix("DOSSIER#"))
        ordered = [d for d in ordered if ((sort_key(d), d.id) < after if descending else (sort_key(d), d.id) > after)]
    page = ordered[:limit]
    if len(ordered) <= limit or not page:
        return page, None
    last = page[-1]
    name = {"submitted_at": "submitted_at", "due_at": "due_at"}[index]
    return page, {"pk": {"S": f"DOSSIER#{last.id}"}, "sk": {"S": "DOSSIER"}, partition: {"S": _partition_value(last, partition)},
                  name: {"S": sort_key(last)}}


def _partition_value(dossier: Dossier, partition: str) -> str:
    return {"owner_id": dossier.owner_id, "agency_code": dossier.agency_code,
            "agency_status": f"{dossier.agency_code}#{dossier.status.value}", "due_agency": dossier.agency_code}[partition]


class InMemoryDossiers:
    """`DossierReader` over `InMemoryTables`."""

    def __init__(self, tables: InMemoryTables) -> None:
        self.tables = tables

    def get(self, dossier_id: str) -> Dossier | None:
        found = self.tables.dossiers.get(dossier_id)
        return copy.deepcopy(found) if found is not None else None

    def history(self, dossier_id: str) -> list[HistoryEntry]:
        return list(self.tables.history.get(dossier_id, []))

    def list_for_owner(self, owner_id: str, limit: int, cursor: Cursor | None) -> Page:
        mine = [d for d in self.tables.dossiers.values() if d.owner_id == owner_id]
        return _page(mine, limit, cursor, "submitted_at", "owner_id", lambda d: iso_utc(d.submitted_at), True)

    def list_for_agency(self, agency_code: str, status: str | None, limit: int, cursor: Cursor | None) -> Page:
        theirs = [d for d in self.tables.dossiers.values()
                  if d.agency_code == agency_code and (status is None or d.status.value == status)]
        partition = "agency_status" if status else "agency_code"
        return _page(theirs, limit, cursor, "submitted_at", partition, lambda d: iso_utc(d.submitted_at), True)

    def events(self, dossier_id: str) -> list[DomainEvent]:
        return [e for e in self.tables.outbox if e.dossier_id == dossier_id]

    def list_due(self, agency_code: str, due_before: str, limit: int, cursor: Cursor | None,
                 status: str | None = None) -> Page:
        due = [d for d in self.tables.dossiers.values()
               if d.agency_code == agency_code and d.is_open and d.due_at is not None and iso_utc(d.due_at) < due_before
               and (status is None or d.status.value == status)]
        return _page(due, limit, cursor, "due_at", "due_agency", lambda d: iso_utc(d.due_at or d.submitted_at), False)


class InMemoryUnitOfWork:
    """`UnitOfWork` over `InMemoryTables`: writes are staged and applied together at commit, or not at all."""

    def __init__(self, tables: InMemoryTables, catalogue: InMemoryCatalogue,
                 sequences: SequenceCache | None = None) -> None:
        self.tables = tables
        self._catalogue = catalogue
        self.sequences = sequences if sequences is not None else SequenceCache()  # a cold container's by default
        self._staged: list[Callable[[], None]] = []
        self._checks: list[Callable[[], None]] = []
        self._sequence_check: Callable[[], None] | None = None
        self._lost_guesses = 0
        self._claim: Claim | None = None

    @property
    def catalogue(self) -> InMemoryCatalogue:
        return self._catalogue

    def get_dossier(self, dossier_id: str) -> Dossier | None:
        return InMemoryDossiers(self.tables).get(dossier_id)

    def remembered(self, owner_id: str, key: str) -> RememberedResponse | None:
        return self.tables.remembered.get((owner_id, key))

    def read_payment(self, dossier_id: str, txn_ref: str) -> tuple[Dossier | None, Payment | None]:
        dossier = self.get_dossier(dossier_id)
        payment = self.tables.payments.get(txn_ref)
        if dossier is None:
            return None, None
        return dossier, copy.deepcopy(payment) if payment is not None and payment.dossier_id == dossier_id else None

    def add_payment(self, payment: Payment) -> None:
        def absent() -> None:
            if payment.txn_ref in self.tables.payments:
                raise VersionConflictError("The payment exists.")
        self._stage_payment(payment, absent)

    def update_payment(self, payment: Payment) -> None:
        def same_version() -> None:
            stored = self.tables.payments.get(payment.txn_ref)
            if stored is None or stored.version != payment.version:
                raise VersionConflictError("The payment changed meanwhile.")
        self._stage_payment(payment, same_version)

    def _stage_payment(self, payment: Payment, check: Callable[[], None]) -> None:
        saved = replace(copy.deepcopy(payment), version=payment.version + 1)
        self._checks.append(check)
        self._staged.append(lambda: self.tables.payments.__setitem__(saved.txn_ref, saved))

    def add_receipt(self, payment: Payment) -> None:
        key = (payment.dossier_id, str(payment.receipt_number))

        def absent() -> None:
            if key in self.tables.receipts:
                raise AlreadyRecordedError("a receipt of this number was issued before")
        self._checks.append(absent)
        self._staged.append(lambda: self.tables.receipts.add(key))

    def next_sequence(self, agency_code: str, day: date) -> int:
        """The DynamoDB protocol: a claim from the container's cache, a guess set on condition at commit (with the
        block it reserves) or a number the container holds; after `GUESSES` lost guesses, an atomic ADD of a block
        at once (not transactional, as on DynamoDB)."""
        key = sequence_key(agency_code, day)
        self._claim = claim = self.sequences.claim(key)
        reserve_to = claim.reserve_to
        if reserve_to is None:
            return claim.number
        if self._lost_guesses >= GUESSES:
            self.tables.sequences[key] += reserve_to - claim.number + 1
            self.tables.requests += 1
            top = self.tables.sequences[key]
            self._claim = self.sequences.took(key, top - (reserve_to - claim.number), top)
            return self._claim.number

        def held_before() -> None:
            if self.tables.sequences[key] != claim.number - 1:
                self._lost_guesses += 1
                self.sequences.lost(key, self.tables.sequences[key])  # the cancellation carries the current value
                raise SequenceTakenError("the dossier number was taken meanwhile")
        self._sequence_check = held_before
        self._staged.append(lambda: self.tables.sequences.__setitem__(key, reserve_to))
        return claim.number

    def add_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        def exists_not() -> None:
            if dossier.id in self.tables.dossiers:
                raise VersionConflictError("exists")
        self._stage_dossier(dossier, entry, exists_not)

    def update_dossier(self, dossier: Dossier, entry: HistoryEntry) -> None:
        def same_version() -> None:
            stored = self.tables.dossiers.get(dossier.id)
            if stored is None or stored.version != dossier.version:
                raise VersionConflictError("The dossier changed meanwhile.")
        self._stage_dossier(dossier, entry, same_version)

    def _stage_dossier(self, dossier: Dossier, entry: HistoryEntry, check: Callable[[], None]) -> None:
        saved = replace(copy.deepcopy(dossier), version=entry.version, events=[])
        events = list(dossier.events)
        for event in events:  # what the relay does before publishing: an event that breaks its schema is a bug here
            validate(event.schema, json.loads(json.dumps(event.detail())))
        dossier.events.clear()
        self._checks.append(check)

        def apply() -> None:
            self.tables.dossiers[saved.id] = saved
            self.tables.history.setdefault(saved.id, []).append(entry)
            self.tables.outbox.extend(events)
        self._staged.append(apply)

    def add_watch_event(self, dossier_id: str, key: str, event: DomainEvent) -> None:
        full_key = f"{dossier_id}#{key}"

        def once() -> None:
            if full_key in self.tables.watch_keys:
                raise AlreadyRecordedError("this warning was recorded before")
        self._checks.append(once)

        def apply() -> None:
            self.tables.watch_keys.add(full_key)
            self.tables.outbox.append(event)
        self._staged.append(apply)

    def remember(self, owner_id: str, key: str, response: RememberedResponse, now: datetime) -> None:
        def unused() -> None:
            if (owner_id, key) in self.tables.remembered:
                raise IdempotencyKeyRaceError("same Idempotency-Key committed concurrently")
        self._checks.append(unused)
        self._staged.append(lambda: self.tables.remembered.__setitem__((owner_id, key), response))

    def record_callback(self, partner: str, webhook_id: str, *, result: str, code: str, now: datetime,
                        body: dict[str, Any] | None = None) -> None:
        key = (partner, webhook_id)

        def absent() -> None:
            if key in self.tables.callbacks:
                raise AlreadyRecordedError("this callback was applied before")
        self._checks.append(absent)
        record = {"result": result, "code": code, "at": now, "body": body}
        self._staged.append(lambda: self.tables.callbacks.__setitem__(key, record))

    def commit(self) -> None:
        checks, staged, self._checks, self._staged = self._checks, self._staged, [], []
        if self._sequence_check is not None:  # after the key's: a used key is a replay, whatever the number
            checks.append(self._sequence_check)
            self._sequence_check = None
        claim, self._claim = self._claim, None
        self.tables.requests += 1
        try:
            for check in checks:
                check()  # any failure: nothing below runs, as a cancelled transaction writes nothing
        except Exception:
            if claim is not None:
                self.sequences.give_back(claim)
            raise
        for apply in staged:
            apply()
        self.tables.commits += 1
        if claim is not None:
            self.sequences.committed(claim)
            self._lost_guesses = 0


class InMemoryCalendars:
    def __init__(self, province_root: str = "T46", days: Sequence[DeclaredDay] = ()) -> None:
        self._root = province_root
        self.days = {d.day: d for d in days}

    @property
    def province_root(self) -> str:
        return self._root

    def for_year(self, year: int) -> WorkingCalendar:
        return WorkingCalendar(
            days_off=frozenset(d.day for d in self.days.values() if d.kind == DAY_OFF),
            working_days_on_weekend=frozenset(d.day for d in self.days.values() if d.kind == WORKING_DAY),
        )

    def declared_days(self) -> list[DeclaredDay]:
        return sorted(self.days.values(), key=lambda d: d.day)

    def declare(self, declared: DeclaredDay) -> None:
        self.days[declared.day] = declared

    def undeclare(self, day: date) -> None:
        self.days.pop(day, None)


class InMemoryPaperFreeDays:
    def __init__(self, schedules: Sequence[PaperFreeDays] = ()) -> None:
        self.schedules = {schedule.agency_code: schedule for schedule in schedules}

    def for_agency(self, agency_code: str) -> PaperFreeDays | None:
        return self.schedules.get(agency_code)

    def save(self, schedule: PaperFreeDays) -> None:
        self.schedules[schedule.agency_code] = schedule


class InMemoryDocuments:
    """`DocumentStore`: presigning records the declaration; `put` stands in for the applicant's upload."""

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}

    def presign_upload(self, key: str, content_type: str, size: int, sha256_b64: str) -> PresignedUpload:
        return PresignedUpload(url=f"memory://{key}", method="PUT", headers={"Content-Type": content_type},
                               expires_at=datetime.max)

    def put(self, key: str, size: int, sha256_b64: str, content_type: str = "application/pdf") -> None:
        self.objects[key] = StoredObject(size=size, sha256=sha256_b64, content_type=content_type)

    def describe(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    def presign_download(self, key: str) -> str:
        return f"memory://{key}"


class InMemoryBus:
    """`Publisher`: accepts every event, except the positions told to fail (once each)."""

    def __init__(self) -> None:
        self.published: list[OutgoingEvent] = []
        self.fail_next: set[int] = set()

    def publish(self, events: Sequence[OutgoingEvent]) -> list[int]:
        failed, self.fail_next = sorted(p for p in self.fail_next if p < len(events)), set()
        self.published += [event for position, event in enumerate(events) if position not in failed]
        return failed


class InMemoryCounters:
    """`Counters`: each event's deltas applied once (a second delivery of an id changes nothing), summed by scope."""

    def __init__(self) -> None:
        self.values: Counter[tuple[str, str, str]] = Counter()
        self.applied: set[str] = set()

    def apply(self, ledger: Mapping[str, Deltas]) -> ApplyStats:
        stats = ApplyStats()
        for event_id, deltas in ledger.items():
            if event_id in self.applied:
                stats.events_skipped += 1
                continue
            self.applied.add(event_id)
            stats.applied_ids.add(event_id)
            stats.events_applied += 1
            for key, amount in deltas.items():
                self.values[(key.scope, key.period, str(key.metric))] += amount
        return stats

    def replace(self, scope: str, months: Sequence[str], totals: Deltas) -> int:
        """`RecountTable`: the scope's months become the recount's (as the shadow table is written)."""
        wanted = set(months)
        for key in [k for k in self.values if k[0] == scope and k[1] in wanted]:
            del self.values[key]
        mine = {(key.scope, key.period, str(key.metric)): value for key, value in totals.items()
                if key.scope == scope and key.period in wanted}
        self.values.update(mine)
        return len(mine)

    def read(self, scope: str, periods: Iterable[str]) -> dict[str, int]:
        wanted = set(periods)
        sums: Counter[str] = Counter()
        for (stored_scope, period, metric), value in self.values.items():
            if stored_scope == scope and period in wanted:
                sums[metric] += value
        return dict(sums)


class InMemoryPayments:
    """`PaymentReader` over `InMemoryTables`."""

    def __init__(self, tables: InMemoryTables) -> None:
        self.tables = tables

    def for_dossier(self, dossier_id: str) -> list[Payment]:
        return sorted((p for p in self.tables.payments.values() if p.dossier_id == dossier_id),
                      key=lambda p: p.requested_at)

    def pending(self, gateway: str, requested_before: datetime, limit: int) -> list[Payment]:
        found = sorted((p for p in self.tables.payments.values() if p.status is PaymentStatus.PENDING
                        and p.gateway == gateway and p.requested_at < requested_before), key=lambda p: p.requested_at)
        return [copy.deepcopy(p) for p in found[:limit]]


class FakeGateway:
    """A payment gateway in memory: URLs name the order, callbacks are "signed" with a shared word, and queries
    answer what `answers` says of each reference (pending by default)."""

    SIGNATURE = "fake-signature"

    def __init__(self, name: GatewayName = GatewayName.VNPAY) -> None:
        self.name = name
        self.answers: dict[str, GatewayReport] = {}
        self.queries: list[str] = []
        self.unreachable = False

    def payment_url(self, order: PaymentOrder) -> str:
        return f"https://pay.example/{self.name.value}?ref={order.txn_ref}&amount={order.amount}"

    def callback(self, txn_ref: str, amount: int, code: str = "00") -> dict[str, str]:
        return {"ref": txn_ref, "amount": str(amount), "code": code, "signature": self.SIGNATURE}

    def verify_callback(self, params: Mapping[str, str]) -> GatewayReport:
        if params.get("signature") != self.SIGNATURE:
            raise SignatureError("bad signature")
        if not params.get("amount", "").isdigit():
            raise MalformedCallbackError("amount")
        code = params["code"]
        return GatewayReport(params["ref"], int(params["amount"]), Outcome.SUCCEEDED if code == "00" else Outcome.FAILED,
                             code)

    def reply(self, result: SettleResult) -> dict[str, Any]:
        return {"result": result.value}

    def query(self, order: PaymentOrder, now: datetime) -> GatewayReport:
        self.queries.append(order.txn_ref)
        if self.unreachable:
            raise UpstreamUnavailableError("the gateway does not answer")
        return self.answers.get(order.txn_ref, GatewayReport(order.txn_ref, order.amount, Outcome.PENDING, "01"))


def fake_adapters(catalogue: InMemoryCatalogue, tables: InMemoryTables | None = None) -> dict[str, Any]:
    """Everything a `Container(settings, adapters=...)` needs to run the use cases without AWS."""
    tables = tables or InMemoryTables()
    return {
        "catalogue": catalogue,
        "listings": InMemoryListings(catalogue),
        "dossiers": InMemoryDossiers(tables),
        "unit_of_work": lambda: InMemoryUnitOfWork(tables, catalogue),
        "calendars": InMemoryCalendars(),
        "documents": InMemoryDocuments(),
        "publisher": InMemoryBus(),
        "counters": InMemoryCounters(),
        "paper_free_days": InMemoryPaperFreeDays(),
        "payments": InMemoryPayments(tables),
        "payment_gateways": {GatewayName.VNPAY: FakeGateway(GatewayName.VNPAY),
                             GatewayName.PAYGOV: FakeGateway(GatewayName.PAYGOV)},
    }


class FakePostalPartner:
    """A postal partner in memory: one shipment per order number (asking twice answers the first waybill), accepted
    at `accepted_at`; `unavailable` calls fail as a partner that does not answer would."""

    def __init__(self, name: str = "vnpost", accepted_at: datetime | None = None) -> None:
        self.name = name
        self.accepted_at = accepted_at
        self.orders: dict[str, ShipmentOrder] = {}
        self.receipts: dict[str, ShipmentReceipt] = {}
        self.cancelled: list[str] = []
        self.calls = 0
        self.unavailable = 0

    def _answer(self) -> None:
        self.calls += 1
        if self.unavailable > 0:
            self.unavailable -= 1
            raise UpstreamUnavailableError("the postal partner does not answer")

    def create(self, order: ShipmentOrder) -> ShipmentReceipt:
        self._answer()
        if order.shipment_id not in self.receipts:
            self.orders[order.shipment_id] = order
            self.receipts[order.shipment_id] = ShipmentReceipt(
                order.shipment_id, f"VN{len(self.receipts) + 1:09d}", self.accepted_at or datetime.now(UTC))
        return self.receipts[order.shipment_id]

    def cancel(self, shipment_id: str) -> None:
        self._answer()
        self.cancelled.append(shipment_id)

    def status(self, shipment_id: str) -> ShipmentReceipt | None:
        self._answer()
        return self.receipts.get(shipment_id)


class InMemoryNotifications:
    """`NotificationStore`: created once, statuses forward only (the machine's `may_move`), as the table's conditions."""

    def __init__(self) -> None:
        self.items: dict[str, Notification] = {}
        self.prefs: dict[str, Preferences] = {}
        self._lock = threading.Lock()  # a condition and its write are one step, as in DynamoDB

    def create(self, n: Notification) -> bool:
        with self._lock:
            if n.id in self.items:
                return False
            self.items[n.id] = replace(n, attempts=list(n.attempts))
            return True

    def get(self, notification_id: str) -> Notification | None:
        found = self.items.get(notification_id)
        return replace(found, attempts=list(found.attempts)) if found else None

    def move(self, notification_id: str, status: NotificationStatus, *, provider: str | None = None,
             attempts: list[str] | None = None, awaits_receipt: bool | None = None) -> bool:
        changes: dict[str, Any] = {"status": status}
        if provider is not None:
            changes["provider"] = provider
        if attempts is not None:
            changes["attempts"] = list(attempts)
        if awaits_receipt is not None:
            changes["awaits_receipt"] = awaits_receipt
        with self._lock:
            found = self.items.get(notification_id)
            if found is None or not may_move(found.status, status):
                return False
            self.items[notification_id] = replace(found, **changes)
            return True

    def annotate(self, notification_id: str, *, provider: str, attempts: list[str], awaits_receipt: bool) -> None:
        self.items[notification_id] = replace(self.items[notification_id], provider=provider, attempts=list(attempts),
                                              awaits_receipt=awaits_receipt)

    def inbox(self, owner_id: str, limit: int, cursor: Cursor | None) -> tuple[list[Notification], Cursor | None]:
        mine = sorted((n for n in self.items.values() if n.owner_id == owner_id and n.channel is Channel.INBOX),
                      key=lambda n: (n.occurred_at, n.id), reverse=True)
        start = int(cursor["offset"]) if cursor else 0
        page = mine[start:start + limit]
        return page, ({"offset": start + limit} if start + limit < len(mine) else None)

    def mark_read(self, owner_id: str, notification_id: str) -> Notification | None:
        found = self.items.get(notification_id)
        if found is None or found.owner_id != owner_id or found.channel is not Channel.INBOX:
            return None
        return found

    def preferences(self, owner_id: str) -> Preferences:
        return self.prefs.get(owner_id, Preferences())

    def save_preferences(self, owner_id: str, preferences: Preferences) -> None:
        self.prefs[owner_id] = preferences


class FakeProvider:
    """A messaging provider that answers from a script: `ok`, `unavailable` or `refused`, the last repeating."""

    def __init__(self, name: str, channel: Channel, script: Sequence[str] = ("ok",), receipts: bool = False) -> None:
        self.name, self.channel, self.receipts = name, channel, receipts
        self.script = list(script)
        self.sent: list[OutgoingMessage] = []
        self.calls = 0

    def send(self, message: OutgoingMessage) -> str:
        outcome = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if outcome == "unavailable":
            raise UpstreamUnavailableError("unavailable")
        if outcome == "refused":
            raise IntegrationError("refused")
        self.sent.append(message)
        return f"{self.name}-{len(self.sent)}"


class InMemoryDeadLetters:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def report(self, entry: Mapping[str, Any]) -> None:
        self.entries.append(dict(entry))
