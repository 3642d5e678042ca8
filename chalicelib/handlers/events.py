"""Event handlers: the stream relay (DynamoDB stream → bus) and the counters consumer (queue → counters).

Both answer with a partial batch response so AWS retries only what failed: the stream mapping from the
first failed record on, the queue mapping just the failed messages (then their dead-letter queue).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, SQSEvent
from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain.counting import headline
from chalicelib.domain.events import DomainEvent, known_schema
from chalicelib.handlers.telemetry import emit, logger
from chalicelib.metric_names import COMPLIANCE, EVENTS_COUNTED, EVENTS_RELAYED, RELAY_RECORDS_FAILED, TIER_DIMENSION
from chalicelib.services.counting import IncomingEvent, count_batch
from chalicelib.services.relay import OutboxRecord, relay
from chalicelib.topology import COUNTERS_MAPPING, OUTBOX_KIND, RELAY_MAPPING

bp = Blueprint(__name__)


def _outbox_records(event: dict[str, Any]) -> list[OutboxRecord]:
    records = []
    for record in DynamoDBStreamEvent(event).records:
        stream = record.dynamodb
        if record.raw_event.get("eventName") != "INSERT" or stream is None:
            continue
        image = stream.new_image or {}
        if image.get("kind") != OUTBOX_KIND:
            continue  # the mapping's filter already drops these on AWS; the check keeps the handler honest
        try:
            detail = json.loads(str(image.get("detail")))
        except ValueError:
            detail = None  # fails its schema below: reported, so it ends in the failure queue, not lost
        event_type = str(image.get("event_type"))
        records.append(
            OutboxRecord(
                record_id=str(stream.sequence_number),
                event_type=event_type,
                schema=str(image.get("schema") or known_schema(event_type) or ""),  # none on the item: its type's
                detail=detail,
            )
        )
    return records


@bp.lambda_function(name=RELAY_MAPPING.function)
def relay_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = relay(_outbox_records(event), container().publisher)
    logger.info(
        "relayed outbox events",
        extra={"published": result.published, "failed": len(result.failed_record_ids),
               "invalid": len(result.invalid_record_ids)},
    )
    emit(EVENTS_RELAYED, result.published)
    emit(RELAY_RECORDS_FAILED, len(result.failed_record_ids) + len(result.invalid_record_ids))
    return {"batchItemFailures": [{"itemIdentifier": rid} for rid in result.failed_record_ids]}


def _incoming(event: dict[str, Any]) -> tuple[list[IncomingEvent], list[str]]:
    parsed: list[IncomingEvent] = []
    unreadable: list[str] = []
    for record in SQSEvent(event).records:
        try:
            envelope = json.loads(record.body)
            parsed.append(IncomingEvent(record.message_id, str(envelope["detail-type"]), envelope["detail"]))
        except (ValueError, KeyError, TypeError):
            unreadable.append(record.message_id)
    return parsed, unreadable


def emit_headline(applied: list[DomainEvent]) -> None:
    """CloudWatch embedded metrics (one log line each, no API call) for the events counted now, by tier: the
    dashboard's live headline figures. A redelivered event was not applied, so it adds nothing here either."""
    for (figure, tier), amount in sorted(headline(applied).items()):
        emit(COMPLIANCE[figure], amount, **{TIER_DIMENSION: tier})


@bp.lambda_function(name=COUNTERS_MAPPING.function)
def counters_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    incoming, unreadable = _incoming(event)
    result = count_batch(incoming, container().counters)
    failed = unreadable + result.rejected_message_ids
    stats = result.stats
    logger.info(
        "counted events",
        extra={"applied": stats.events_applied, "skipped": stats.events_skipped, "failed": len(failed),
               "transactions": stats.transactions, "counter_writes": stats.counter_writes},
    )
    emit(EVENTS_COUNTED, stats.events_applied)
    emit_headline(result.applied)
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in failed]}
