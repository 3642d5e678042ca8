"""Tell applicants what happened to their dossier: each event becomes one notice per channel they can receive, stored
first, then sent through the channel's providers (retried with backoff, failing over), each at most once."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.counting import Deltas
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import DomainError, IntegrationError, UpstreamUnavailableError, ValidationError
from chalicelib.domain.events import DomainEvent, Notify, spec_of
from chalicelib.domain.notifications import (
    Channel,
    Notification,
    NotificationStatus,
    e164,
    mask,
    notification_id,
    outcome_deltas,
)
from chalicelib.domain.templates import DossierFacts, Template, book, facts, render
from chalicelib.integrations.messaging import MessageProvider, OutgoingMessage
from chalicelib.services.counting import IncomingEvent, parse
from chalicelib.services.ports import Catalogue, Counters, DeadLetters, DossierReader, NotificationStore

# A notice left `sending` longer than this was abandoned by a process that died mid-call: we cannot know whether the
# provider took it, so it is not sent again (at most once) but ends as a technical failure for a person to check.
SENDING_LEASE = timedelta(minutes=15)
CHANNELS = (Channel.INBOX, Channel.SMS, Channel.EMAIL, Channel.ZALO)
Log = Callable[[str, dict[str, Any]], None]


@dataclass
class Notifier:
    """What the use case needs, built once per container by the composition root (fakes in the unit tests)."""

    store: NotificationStore
    dossiers: DossierReader
    catalogue: Catalogue
    counters: Counters
    providers: Mapping[Channel, Sequence[MessageProvider]]
    dead_letters: DeadLetters
    transliterate: Callable[[str], str]
    now: Callable[[], datetime]
    retry_attempts: int = 3
    retry_delay: Callable[[int], float] = lambda attempt: 0.0
    sleep: Callable[[float], None] = time.sleep
    link_base: str = "https://dichvucong.local"
    log: Log = lambda message, extra: None
    outbox: Callable[[dict[str, Any]], None] | None = None  # the local stage's record of every provider call
    workers: int = 1  # messages of a batch worked on at once


@dataclass
class NotifyResult:
    failed_message_ids: list[str] = field(default_factory=list)
    created: int = 0
    sent: int = 0
    failed: int = 0
    repeated: int = 0  # notices a redelivered event found written already
    skipped_events: int = 0  # not for the applicant, or their dossier is gone

    def add(self, other: NotifyResult) -> None:
        self.failed_message_ids += other.failed_message_ids
        self.created += other.created
        self.sent += other.sent
        self.failed += other.failed
        self.repeated += other.repeated
        self.skipped_events += other.skipped_events


def _dossier_facts(dossier: Dossier) -> DossierFacts:
    return DossierFacts(dossier.applicant.name, dossier.procedure_name, dossier.received_at, dossier.appointment_at,
                        dossier.new_appointment_at)


def _agency_name(catalogue: Catalogue, code: str) -> str:
    try:
        return catalogue.agency(code).name
    except DomainError:
        return code


def recipients(dossier: Dossier) -> dict[Channel, str]:
    """Where each channel reaches the applicant: the phone for SMS and Zalo, the email if given, the inbox always."""
    found = {Channel.INBOX: dossier.owner_id, Channel.SMS: e164(dossier.applicant.phone),
             Channel.ZALO: e164(dossier.applicant.phone)}
    if dossier.applicant.email:
        found[Channel.EMAIL] = dossier.applicant.email
    return found


def plan(event: DomainEvent, dossier: Dossier, template: Template, agency_name: str, other_agency_name: str,
         allowed: Iterable[Channel], transliterate: Callable[[str], str], link_base: str, now: datetime,
         ) -> list[Notification]:
    """The notices one event gives the applicant: one per channel they can receive and have not opted out of."""
    values = facts(event, _dossier_facts(dossier), agency_name, other_agency_name, f"{link_base}/ho-so/{dossier.id}")
    reach = recipients(dossier)
    notices = []
    the_book = book()
    for channel in CHANNELS:
        if channel not in reach or channel not in allowed:
            continue
        content = render(template, channel, values, transliterate, the_book.layout_html, the_book.zns_data)
        notices.append(Notification(
            id=notification_id(event.event_id, channel), event_id=event.event_id, event_type=event.event_type,
            channel=channel, owner_id=dossier.owner_id, dossier_id=dossier.id, dossier_code=event.dossier_code,
            agency_code=event.agency_code, agency_path=event.agency_path, recipient=reach[channel],
            template=template.ref, content=content,
            status=NotificationStatus.DELIVERED if channel is Channel.INBOX else NotificationStatus.CREATED,
            created_at=now, updated_at=now, occurred_at=event.occurred_at,
        ))
    return notices


def notify_batch(messages: Sequence[IncomingEvent], notifier: Notifier) -> NotifyResult:
    """Each message's notices, created once and sent at most once; the counters of every notice that reached an
    outcome applied exactly once (again on a redelivery: the counters' markers make that harmless). Messages that
    are not our events, or whose processing failed for a reason worth retrying, are reported back for the queue.
    Messages are worked on `notifier.workers` at a time: each waits mostly on providers and the table."""
    if notifier.workers > 1 and len(messages) > 1:
        # Workers are named after the invoking thread and run in a copy of its context, so whatever traces the
        # invocation (logging, the test suite's record of AWS calls) sees their work as the invocation's.
        with ThreadPoolExecutor(max_workers=min(notifier.workers, len(messages)),
                                thread_name_prefix=threading.current_thread().name) as pool:
            futures = [pool.submit(contextvars.copy_context().run, _one, message, notifier) for message in messages]
            outcomes = [future.result() for future in futures]
    else:
        outcomes = [_one(message, notifier) for message in messages]
    result = NotifyResult()
    ledger: dict[str, Deltas] = {}
    for one, settled in outcomes:
        result.add(one)
        for notice in settled:
            ledger.update(outcome_deltas(notice))
    if ledger:
        notifier.counters.apply(ledger)
    return result


def _one(message: IncomingEvent, notifier: Notifier) -> tuple[NotifyResult, list[Notification]]:
    result = NotifyResult()
    try:
        event = parse(message)
    except ValidationError:
        result.failed_message_ids.append(message.message_id)
        return result, []
    try:
        settled = _notify(event, notifier, result)
    except DomainError as exc:  # storage busy or unreachable: the whole event again, later; nothing sends twice
        notifier.log("notification event failed", {"event_id": event.event_id, "code": exc.code})
        result.failed_message_ids.append(message.message_id)
        return result, []
    if settled is None:
        result.failed_message_ids.append(message.message_id)
        return result, []
    return result, settled


def _notify(event: DomainEvent, notifier: Notifier, result: NotifyResult) -> list[Notification] | None:
    """The event's notices as they now stand, or None if one is still being sent elsewhere (retry the message)."""
    if spec_of(event.event_type).notify is not Notify.APPLICANT:
        result.skipped_events += 1  # officers' warnings: no officer directory to reach them by yet
        return []
    template = book().for_event(event.event_type)
    dossier = notifier.dossiers.get(event.dossier_id)
    if template is None or dossier is None:
        result.skipped_events += 1
        notifier.log("nothing to notify", {"event_id": event.event_id, "event_type": event.event_type,
                                           "has_template": template is not None, "has_dossier": dossier is not None})
        return []
    preferences = notifier.store.preferences(dossier.owner_id)
    allowed = [channel for channel in CHANNELS if preferences.allows(channel)]
    other = getattr(event.payload, "to_agency", None)
    notices = plan(event, dossier, template, _agency_name(notifier.catalogue, event.agency_code),
                   _agency_name(notifier.catalogue, other) if other else "", allowed, notifier.transliterate,
                   notifier.link_base, notifier.now())
    settled: list[Notification] = []
    retry_later = False
    for notice in notices:
        if notifier.store.create(notice):
            result.created += 1
            current = notice
        else:
            result.repeated += 1
            found = notifier.store.get(notice.id)
            if found is None:
                continue
            current = found
        if current.status is NotificationStatus.CREATED:
            current = _send(current, notifier, result)  # a crash before the claim left it unsent: safe to send now
        elif current.status is NotificationStatus.SENDING:
            if notifier.now() - current.updated_at < SENDING_LEASE:
                retry_later = True  # someone else is sending it right now, or died doing so: look again later
                continue
            current = _give_up(current, [*current.attempts, "abandoned"], notifier, result)
        settled.append(current)
    return None if retry_later else settled


def _send(notice: Notification, notifier: Notifier, result: NotifyResult) -> Notification:
    """Claim the notice (created → sending: only one process can), then try each provider of its channel in order,
    retrying one that is unavailable with growing waits, and record the outcome."""
    if not notifier.store.move(notice.id, NotificationStatus.SENDING):
        return notifier.store.get(notice.id) or notice  # another process claimed it first
    message = OutgoingMessage(reference=notice.id, to=notice.recipient, text=notice.content.text,
                              subject=notice.content.subject, html=notice.content.html,
                              template_id=notice.content.template_id, template_data=notice.content.template_data)
    attempts: list[str] = []
    for provider in notifier.providers.get(notice.channel, ()):
        for attempt in range(1, notifier.retry_attempts + 1):
            try:
                provider_message_id = provider.send(message)
            except UpstreamUnavailableError:
                attempts.append(f"{provider.name}:unavailable")
                _trace(notifier, notice, provider.name, "unavailable")
                if attempt < notifier.retry_attempts:
                    notifier.sleep(notifier.retry_delay(attempt))
                continue
            except IntegrationError as exc:
                attempts.append(f"{provider.name}:refused")
                _trace(notifier, notice, provider.name, f"refused {exc.details}")
                notifier.store.move(notice.id, NotificationStatus.PERMANENT_FAILURE, provider=provider.name,
                                    attempts=attempts)
                result.failed += 1
                return _moved(notice, NotificationStatus.PERMANENT_FAILURE, provider.name, attempts)
            attempts.append(f"{provider.name}:accepted")
            _trace(notifier, notice, provider.name, "accepted", provider_message_id)
            if not notifier.store.move(notice.id, NotificationStatus.SENT, provider=provider.name, attempts=attempts,
                                       awaits_receipt=provider.receipts):
                # its receipt overtook us and moved it on: keep the status, record how it went
                notifier.store.annotate(notice.id, provider=provider.name, attempts=attempts,
                                        awaits_receipt=provider.receipts)
                return notifier.store.get(notice.id) or notice
            result.sent += 1
            sent = _moved(notice, NotificationStatus.SENT, provider.name, attempts)
            sent.awaits_receipt = provider.receipts
            return sent
    return _give_up(notice, attempts, notifier, result)


def _give_up(notice: Notification, attempts: list[str], notifier: Notifier, result: NotifyResult) -> Notification:
    """No provider took it: technical failure, and a dead-letter entry for a person to look at."""
    notifier.store.move(notice.id, NotificationStatus.TECHNICAL_FAILURE, attempts=attempts)
    notifier.dead_letters.report({"notification_id": notice.id, "event_id": notice.event_id,
                                  "channel": notice.channel.value, "attempts": attempts})
    notifier.log("notification failed", {"notification_id": notice.id, "channel": notice.channel.value,
                                         "to": mask(notice.channel, notice.recipient), "attempts": attempts})
    result.failed += 1
    return _moved(notice, NotificationStatus.TECHNICAL_FAILURE, notice.provider, attempts)


def _moved(notice: Notification, status: NotificationStatus, provider: str | None, attempts: list[str]) -> Notification:
    return Notification(**{**vars(notice), "status": status, "provider": provider, "attempts": attempts})


def _trace(notifier: Notifier, notice: Notification, provider: str, outcome: str, provider_id: str = "") -> None:
    """One log line per provider call (masked recipient, no text: it may name the applicant), and locally the
    outbox entry showing what the applicant would receive."""
    notifier.log("provider call", {"notification_id": notice.id, "channel": notice.channel.value, "provider": provider,
                                   "to": mask(notice.channel, notice.recipient), "template": notice.template,
                                   "outcome": outcome})
    if notifier.outbox is not None:
        content = {k: v for k, v in vars(notice.content).items() if v not in (None, {})}
        notifier.outbox({"reference": notice.id, "provider": provider, "channel": notice.channel.value,
                         "to": mask(notice.channel, notice.recipient), "template": notice.template, "outcome": outcome,
                         "provider_message_id": provider_id, "at": notifier.now().isoformat(), **content})
