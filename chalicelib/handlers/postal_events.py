"""The postal consumer (queue → postal partner): for each event routed to it, bring the dossier's shipments in line
with what it needs (a pickup at a postal filing, a return once the result is ready and may go by post, a cancelled
pickup at a withdrawal). Failed messages are reported, so the queue retries them and then dead-letters them."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent
from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain.events import ROUTED_TO, Consumer, known_schema
from chalicelib.handlers.telemetry import logger
from chalicelib.services.postal import request_for_messages
from chalicelib.topology import POSTAL_MAPPING
from chalicelib.validation import conforms

bp = Blueprint(__name__)


@bp.lambda_function(name=POSTAL_MAPPING.function)
def postal_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    c = container()
    unreadable, messages = [], []
    for record in SQSEvent(event).records:
        try:
            envelope = json.loads(record.body)
            event_type, detail = str(envelope["detail-type"]), envelope["detail"]
            schema = known_schema(event_type)
            if event_type not in ROUTED_TO[Consumer.POSTAL] or schema is None or not conforms(schema, detail):
                raise ValueError(f"not a postal trigger: {event_type}")
            messages.append((record.message_id, str(detail["dossier_id"])))
        except (ValueError, KeyError, TypeError):  # reported: the queue retries it, then dead-letters it
            logger.exception("postal event unreadable", extra={"message_id": record.message_id})
            unreadable.append(record.message_id)
    try:
        failed, asked = request_for_messages(
            messages, c.postal_partner, c.unit_of_work, now=c.now, new_id=c.new_id, calendar_for=c.calendar_for,
            service_levels=c.settings.postal_service_levels,
        )
    except Exception:  # storage down, a bug: the whole batch is retried, never dropped
        logger.exception("postal events failed")
        failed, asked = [message_id for message_id, _ in messages], 0
    failed += unreadable
    logger.info("postal events", extra={"shipments": asked, "failed": len(failed)})
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}
