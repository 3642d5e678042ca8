"""Count a batch of dossier events into the compliance counters, exactly once per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.counting import ApplyStats, fold
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import DomainEvent, from_detail, known_schema
from chalicelib.services.ports import Counters
from chalicelib.validation import validate


@dataclass(frozen=True)
class IncomingEvent:
    message_id: str
    detail_type: str
    detail: Any


@dataclass
class CountResult:
    stats: ApplyStats
    rejected_message_ids: list[str]
    applied: list[DomainEvent]  # counted now, each once: what the live metrics add


def parse(event: IncomingEvent) -> DomainEvent:
    """The typed event a message carries, checked against its type's schema; ValidationError if it is none of ours."""
    schema = known_schema(event.detail_type)
    if schema is None:
        raise ValidationError(f"no schema for {event.detail_type}")
    validate(schema, event.detail)
    try:
        return from_detail(event.detail)
    except (KeyError, TypeError, ValueError) as exc:  # e.g. a 31 February its schema's pattern lets through
        raise ValidationError(f"not a {event.detail_type}: {exc}") from exc


def count_batch(events: Sequence[IncomingEvent], counters: Counters) -> CountResult:
    """Validate and type each event, fold the valid ones into per-event deltas and have the store apply them, each
    touched counter written once per transaction. Invalid messages are reported, not skipped: they go back to the
    queue and on to its DLQ."""
    valid: list[DomainEvent] = []
    rejected: list[str] = []
    for event in events:
        try:
            valid.append(parse(event))
        except ValidationError:
            rejected.append(event.message_id)
    ledger = fold(valid)
    stats = counters.apply(ledger)
    stats.events_skipped += len(valid) - len(ledger)  # the same event twice in this batch
    applied = [valid_event for valid_event in {e.event_id: e for e in valid}.values()
               if valid_event.event_id in stats.applied_ids]
    return CountResult(stats=stats, rejected_message_ids=rejected, applied=applied)
