"""Notifications to applicants: channels, the forward-only status machine, deterministic ids, masking, counting.

Store first, then send (GOV.UK Notify's lesson): a notification is written `created` before any provider is called,
its id is the provider's reference, and its status only moves forward:

    created ─> sending ─> sent ─> delivered
       │          │        └────> temporary-failure | permanent-failure     (a delivery receipt)
       │          └─────────────> technical-failure | permanent-failure     (no provider took it / it was refused)
       └─> delivered                                                         (the inbox: storing it is delivering it)

A status that would move backwards (a late "sent" after "delivered", a duplicate receipt) is ignored, not an error.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .calendar import month_of
from .counting import CounterKey, Deltas, agency_scope
from .metrics import Metric


class Channel(str, Enum):
    SMS = "sms"
    EMAIL = "email"
    ZALO = "zalo"
    INBOX = "inbox"


OPTIONAL_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.ZALO)  # the inbox is always written: it cannot be opted out


class NotificationStatus(str, Enum):
    CREATED = "created"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"


_S = NotificationStatus
FAILURES = frozenset({_S.TEMPORARY_FAILURE, _S.PERMANENT_FAILURE, _S.TECHNICAL_FAILURE})
# Rank along the one forward path; failures rank last, so nothing moves out of one.
_RANK = {_S.CREATED: 0, _S.SENDING: 1, _S.SENT: 2, _S.DELIVERED: 3, **{status: 4 for status in FAILURES}}
_NEXT: dict[NotificationStatus, frozenset[NotificationStatus]] = {
    _S.CREATED: frozenset({_S.SENDING, _S.DELIVERED}),
    _S.SENDING: frozenset({_S.SENT, _S.TECHNICAL_FAILURE, _S.PERMANENT_FAILURE, _S.DELIVERED}),
    _S.SENT: frozenset({_S.DELIVERED, _S.TEMPORARY_FAILURE, _S.PERMANENT_FAILURE}),
    _S.DELIVERED: frozenset(),
    **{status: frozenset() for status in FAILURES},
}


def may_move(current: NotificationStatus, new: NotificationStatus) -> bool:
    """Whether `current` may become `new`: forward along the machine only (a receipt may skip `sent`)."""
    return new in _NEXT[current]


def is_final(status: NotificationStatus, awaits_receipt: bool) -> bool:
    """Nothing more will happen to it: delivered or failed, or sent by a provider that sends no receipts."""
    return status is _S.DELIVERED or status in FAILURES or (status is _S.SENT and not awaits_receipt)


def notification_id(event_id: str, channel: Channel) -> str:
    """The same event and channel always give the same id: a redelivered event finds its notification written."""
    return hashlib.sha256(f"{event_id}:{channel.value}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Preferences:
    """An applicant's opt-outs, per channel; none by default."""

    opted_out: frozenset[Channel] = frozenset()

    def allows(self, channel: Channel) -> bool:
        return channel is Channel.INBOX or channel not in self.opted_out


@dataclass(frozen=True)
class Rendered:
    """What one channel carries: subject and HTML for email only; `link` for the inbox; Zalo's template and data."""

    text: str
    subject: str | None = None
    html: str | None = None
    link: str | None = None
    template_id: str | None = None
    template_data: dict[str, str] = field(default_factory=dict)
    segments: int | None = None  # SMS only


@dataclass
class Notification:
    id: str
    event_id: str
    event_type: str
    channel: Channel
    owner_id: str
    dossier_id: str
    dossier_code: str
    agency_code: str
    agency_path: tuple[str, ...]
    recipient: str  # phone (E.164), email or the owner's id for the inbox: personal data, kept in this item only
    template: str  # "{event type}.v{version}": which text was sent
    content: Rendered
    status: NotificationStatus
    created_at: datetime
    updated_at: datetime
    occurred_at: datetime  # the event's instant: what the inbox sorts by and the month it counts in
    provider: str | None = None
    attempts: list[str] = field(default_factory=list)  # "provider:outcome" per call, in order
    awaits_receipt: bool = False
    read_at: datetime | None = None

    @property
    def final(self) -> bool:
        return is_final(self.status, self.awaits_receipt)


def counted_outcome(status: NotificationStatus) -> str | None:
    """What a status counts as in the province's figures: `sent` once a provider took it, `failed` once it failed."""
    if status in (_S.SENT, _S.DELIVERED):
        return "sent"
    if status in FAILURES:
        return "failed"
    return None


def outcome_deltas(n: Notification) -> dict[str, Deltas]:
    """The counters a notification moves, keyed for exactly-once application: one key per notification and outcome
    (a message may count as sent and later as failed, when a receipt says so), at its agency and each ancestor."""
    outcome = counted_outcome(n.status)
    if outcome is None or n.channel is Channel.INBOX:
        return {}
    metric = Metric.of(f"notifications_{outcome}", channel=n.channel.value)
    period = month_of(n.occurred_at)
    deltas: Deltas = Counter({CounterKey(agency_scope(code), period, metric): 1 for code in n.agency_path})
    return {f"notification:{n.id}:{outcome}": deltas}


_DIGITS = re.compile(r"\d")


def mask_phone(phone: str) -> str:
    """`+84912345678` → `+8491*****78`: enough to tell two numbers apart in a log, not to call one."""
    return phone[:5] + _DIGITS.sub("*", phone[5:-2]) + phone[-2:] if len(phone) > 7 else "***"


def mask_email(email: str) -> str:
    """`hoa@example.vn` → `h***@example.vn`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask(channel: Channel, recipient: str) -> str:
    if channel in (Channel.SMS, Channel.ZALO):
        return mask_phone(recipient)
    if channel is Channel.EMAIL:
        return mask_email(recipient)
    return recipient  # the inbox's owner id: no personal data


def e164(phone: str) -> str:
    """A Vietnamese mobile number (`0912345678`, `+84912345678`, `84912345678`) as E.164 (`+84912345678`)."""
    digits = phone.strip().removeprefix("+")
    if digits.startswith("84"):
        digits = digits[2:]
    return "+84" + digits.removeprefix("0")
