"""An applicant's own notices (the portal's inbox) and their channel preferences."""

from __future__ import annotations

from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.notifications import Channel, Notification, Preferences
from chalicelib.services.ports import Cursor, NotificationStore


def notification_not_found(notification_id: str) -> NotFoundError:
    return NotFoundError(f"Không tìm thấy thông báo {notification_id}. (Notification not found.)",
                         code="NOTIFICATION_NOT_FOUND")


def list_inbox(owner_id: str, limit: int, cursor: Cursor | None,
               store: NotificationStore) -> tuple[list[Notification], Cursor | None]:
    return store.inbox(owner_id, limit, cursor)


def mark_read(owner_id: str, notification_id: str, store: NotificationStore) -> Notification:
    """Another applicant's notice answers as if it did not exist (ids cannot be probed)."""
    found = store.mark_read(owner_id, notification_id)
    if found is None:
        raise notification_not_found(notification_id)
    return found


def set_preferences(owner_id: str, channels: dict[str, bool], store: NotificationStore) -> Preferences:
    """Opt in or out per channel; a channel left out keeps its setting. The inbox cannot be opted out of."""
    current = store.preferences(owner_id)
    opted_out = set(current.opted_out)
    for name, wanted in channels.items():
        channel = Channel(name)
        if wanted:
            opted_out.discard(channel)
        else:
            opted_out.add(channel)
    preferences = Preferences(frozenset(opted_out - {Channel.INBOX}))
    store.save_preferences(owner_id, preferences)
    return preferences
