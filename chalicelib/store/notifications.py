"""Notifications, preferences and the local outbox in the notifications table: mapped both ways, written on conditions
(a notice is created once; a status moves only forward), the inbox read from its sparse index, newest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import iso_utc
from chalicelib.domain.notifications import Channel, Notification, NotificationStatus, Preferences, Rendered, may_move
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import DevOutboxModel, NotificationModel, PreferencesModel

RETENTION = timedelta(days=400)  # a notice is kept as long as the counters' replay window
DEV_OUTBOX_TTL = timedelta(days=1)
_CONDITION_FAILED = "ConditionalCheckFailedException"


def _condition_failed(exc: PutError | UpdateError) -> bool:
    return getattr(exc, "cause_response_code", None) == _CONDITION_FAILED


def notification_pk(notification_id: str) -> str:
    return f"NOTIFICATION#{notification_id}"


def to_item(n: Notification) -> NotificationModel:
    inbox = n.channel is Channel.INBOX
    content = {k: v for k, v in vars(n.content).items() if v not in (None, {})}
    return NotificationModel(
        notification_pk(n.id), "NOTIFICATION", event_id=n.event_id, event_type=n.event_type, channel=n.channel.value,
        owner_id=n.owner_id, dossier_id=n.dossier_id, dossier_code=n.dossier_code, agency_code=n.agency_code,
        agency_path=list(n.agency_path), recipient=n.recipient, template=n.template, content=content,
        status=n.status.value, created_at=iso_utc(n.created_at), updated_at=iso_utc(n.updated_at),
        occurred_at=iso_utc(n.occurred_at), provider=n.provider,
        attempts=list(n.attempts), awaits_receipt=n.awaits_receipt,
        read_at=iso_utc(n.read_at) if n.read_at else None,
        inbox_owner=n.owner_id if inbox else None, inbox_sort=f"{iso_utc(n.occurred_at)}#{n.id}" if inbox else None,
        expires_at=int((n.created_at + RETENTION).timestamp()),
    )


def from_item(item: NotificationModel) -> Notification:
    return Notification(
        id=item.pk.removeprefix("NOTIFICATION#"), event_id=item.event_id, event_type=item.event_type,
        channel=Channel(item.channel), owner_id=item.owner_id, dossier_id=item.dossier_id, dossier_code=item.dossier_code,
        agency_code=item.agency_code, agency_path=tuple(str(code) for code in item.agency_path),
        recipient=item.recipient, template=item.template,
        content=Rendered(**item.content), status=NotificationStatus(item.status),
        created_at=datetime.fromisoformat(item.created_at), updated_at=datetime.fromisoformat(item.updated_at),
        occurred_at=datetime.fromisoformat(item.occurred_at),
        provider=item.provider, attempts=[str(a) for a in item.attempts or []], awaits_receipt=bool(item.awaits_receipt),
        read_at=datetime.fromisoformat(item.read_at) if item.read_at else None,
    )


class DynamoNotifications:
    """`services.ports.NotificationStore` over the notifications table."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def create(self, n: Notification) -> bool:
        """Write a new notice; False (and nothing written) if one with its id exists: a redelivered event."""
        with storage_errors():
            try:
                to_item(n).save(condition=NotificationModel.pk.does_not_exist())
            except PutError as exc:
                if _condition_failed(exc):
                    return False
                raise
        return True

    def get(self, notification_id: str) -> Notification | None:
        try:
            with storage_errors():
                return from_item(NotificationModel.get(notification_pk(notification_id), "NOTIFICATION",
                                                       consistent_read=True))
        except DoesNotExist:
            return None

    def move(self, notification_id: str, status: NotificationStatus, *, provider: str | None = None,
             attempts: list[str] | None = None, awaits_receipt: bool | None = None) -> bool:
        """Set the status if the current one may move to it (forward only); False if it may not, or no such notice."""
        sources = [s.value for s in NotificationStatus if may_move(s, status)]
        if not sources:
            return False
        actions: list[Any] = [NotificationModel.status.set(status.value), NotificationModel.updated_at.set(iso_utc(self._now()))]
        if provider is not None:
            actions.append(NotificationModel.provider.set(provider))
        if attempts is not None:
            actions.append(NotificationModel.attempts.set(attempts))  # type: ignore[arg-type]
        if awaits_receipt is not None:
            actions.append(NotificationModel.awaits_receipt.set(awaits_receipt))
        item = NotificationModel(notification_pk(notification_id), "NOTIFICATION")
        with storage_errors():
            try:
                item.update(actions=actions, condition=NotificationModel.status.is_in(*sources))
            except UpdateError as exc:
                if _condition_failed(exc):
                    return False
                raise
        return True

    def annotate(self, notification_id: str, *, provider: str, attempts: list[str], awaits_receipt: bool) -> None:
        """Record how a notice was handed over without touching its status (a receipt already moved it on)."""
        item = NotificationModel(notification_pk(notification_id), "NOTIFICATION")
        with storage_errors():
            item.update(actions=[NotificationModel.provider.set(provider),
                                 NotificationModel.attempts.set(attempts),  # type: ignore[arg-type]
                                 NotificationModel.awaits_receipt.set(awaits_receipt),
                                 NotificationModel.updated_at.set(iso_utc(self._now()))],
                        condition=NotificationModel.pk.exists())

    def inbox(self, owner_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[Notification],
                                                                                       dict[str, Any] | None]:
        if cursor is not None and (cursor.get("inbox_owner") != {"S": owner_id} or set(cursor) != {
                "pk", "sk", "inbox_owner", "inbox_sort"}):
            raise ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")
        with storage_errors(client_cursor=cursor is not None):
            page = NotificationModel.by_inbox.query(owner_id, scan_index_forward=False, limit=limit, page_size=limit,
                                                    last_evaluated_key=cursor)
            found = [from_item(item) for item in page]
        return found, page.last_evaluated_key

    def mark_read(self, owner_id: str, notification_id: str) -> Notification | None:
        """Mark an inbox notice of `owner_id` read (the first time counts); None if there is no such notice of theirs."""
        found = self.get(notification_id)
        if found is None or found.channel is not Channel.INBOX or found.owner_id != owner_id:
            return None
        if found.read_at is None:
            now = self._now()
            item = NotificationModel(notification_pk(notification_id), "NOTIFICATION")
            with storage_errors():
                try:
                    item.update(actions=[NotificationModel.read_at.set(iso_utc(now))],
                                condition=NotificationModel.read_at.does_not_exist())
                except UpdateError as exc:
                    if not _condition_failed(exc):
                        raise
                    return self.get(notification_id)
            found.read_at = now
        return found

    def preferences(self, owner_id: str) -> Preferences:
        try:
            with storage_errors():
                item = PreferencesModel.get(f"PREFERENCES#{owner_id}", "PREFERENCES")
        except DoesNotExist:
            return Preferences()
        return Preferences(frozenset(Channel(c) for c in item.opted_out or [] if c in Channel._value2member_map_))

    def save_preferences(self, owner_id: str, preferences: Preferences) -> None:
        with storage_errors():
            PreferencesModel(f"PREFERENCES#{owner_id}", "PREFERENCES",
                             opted_out=sorted(c.value for c in preferences.opted_out),
                             updated_at=iso_utc(self._now())).save()


class DynamoDevOutbox:
    """Local stage only: every provider call, newest first, for `GET /v1/dev/outbox` (kept a day)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def record(self, entry: dict[str, Any]) -> None:
        now = self._now()
        with storage_errors():
            DevOutboxModel("DEV_OUTBOX", f"{iso_utc(now)}#{entry['reference']}#{entry['provider']}", entry=entry,
                           expires_at=int((now + DEV_OUTBOX_TTL).timestamp())).save()

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with storage_errors():
            return [dict(item.entry) for item in DevOutboxModel.query("DEV_OUTBOX", scan_index_forward=False, limit=limit)]
