"""The notifications consumer (queue → notices to applicants), answering with a partial batch response."""

from __future__ import annotations

import os
from typing import Any

from anyascii import anyascii
from chalice.app import Blueprint

from chalicelib.bootstrap import Container, container
from chalicelib.handlers.events import _incoming
from chalicelib.handlers.telemetry import emit, logger
from chalicelib.metric_names import NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT
from chalicelib.services.notifications import Notifier, notify_batch
from chalicelib.topology import NOTIFICATIONS_MAPPING

bp = Blueprint(__name__)


def notifier(c: Container) -> Notifier:
    messaging = c.messaging
    outbox = c.dev_outbox
    return Notifier(
        store=c.notifications, dossiers=c.dossiers, catalogue=c.catalogue, counters=c.counters,
        providers=messaging.providers, dead_letters=c.dead_letters, transliterate=anyascii, now=c.now,
        retry_attempts=messaging.retry.attempts, retry_delay=messaging.retry.delay,
        link_base=os.environ.get("PORTAL_URL", "https://dichvucong.local"),
        log=lambda message, extra: logger.info(message, extra=extra),
        outbox=outbox.record if outbox is not None else None,
        workers=int(os.environ.get("NOTIFY_WORKERS", str(NOTIFICATIONS_MAPPING.batch_size))),
    )


@bp.lambda_function(name=NOTIFICATIONS_MAPPING.function)
def notifications_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    incoming, unreadable = _incoming(event)
    result = notify_batch(incoming, notifier(container()))
    failed = unreadable + result.failed_message_ids
    # (`created` would clash with a LogRecord attribute)
    logger.info("notified", extra={"notices_created": result.created, "notices_sent": result.sent,
                                   "notices_failed": result.failed, "notices_repeated": result.repeated,
                                   "skipped_events": result.skipped_events, "failed_messages": len(failed)})
    emit(NOTIFICATIONS_SENT, result.sent)
    emit(NOTIFICATIONS_FAILED, result.failed)
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}
