"""Relay outbox events from the dossier table's stream to the bus, never dropping one."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import known_schema
from chalicelib.integrations.event_bus import OutgoingEvent, Publisher
from chalicelib.validation import validate


@dataclass(frozen=True)
class OutboxRecord:
    record_id: str  # the stream record's sequence number, what a partial batch response names
    event_type: str
    schema: str
    detail: Any  # a dict when the outbox item is sound; anything else fails validation


@dataclass
class RelayResult:
    published: int
    failed_record_ids: list[str]
    invalid_record_ids: list[str]


def relay(
    records: Sequence[OutboxRecord],
    publisher: Publisher,
    *,
    attempts: int = 3,
    backoff_s: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> RelayResult:
    """Validate each event against its schema, publish the valid ones in batches, retry entries the bus
    refused. Whatever still fails is returned so the stream mapping retries it (and, after its attempts,
    sends it to the relay's dead-letter queue); nothing is silently skipped."""
    invalid: list[str] = []
    pending: list[OutboxRecord] = []
    for record in records:
        if record.schema != known_schema(record.event_type):
            invalid.append(record.record_id)  # an event we do not know cannot be checked, so it is not published
            continue
        try:
            validate(record.schema, record.detail)
        except ValidationError:
            invalid.append(record.record_id)
            continue
        pending.append(record)
    published = 0
    for attempt in range(attempts):
        if not pending:
            break
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
        failed_positions = set(publisher.publish([OutgoingEvent(r.event_type, r.detail) for r in pending]))
        published += len(pending) - len(failed_positions)
        pending = [record for position, record in enumerate(pending) if position in failed_positions]
    return RelayResult(
        published=published,
        failed_record_ids=[r.record_id for r in pending] + invalid,
        invalid_record_ids=invalid,
    )
