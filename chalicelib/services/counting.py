"""Count a batch of dossier events into the compliance counters, exactly once per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import known_schema
from chalicelib.store.counters import ApplyStats, CounterStore
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


def count_batch(events: Sequence[IncomingEvent], counters: CounterStore) -> CountResult:
    """Validate each event, sum the valid ones in memory and write each touched counter once per
    transaction. Invalid messages are reported, not skipped: they go back to the queue and on to its DLQ."""
    valid: list[dict[str, Any]] = []
    rejected: list[str] = []
    for event in events:
        schema = known_schema(event.detail_type)
        try:
            if schema is None:
                raise ValidationError(f"no schema for {event.detail_type}")
            validate(schema, event.detail)
        except ValidationError:
            rejected.append(event.message_id)
            continue
        valid.append(event.detail)
    return CountResult(stats=counters.apply(valid), rejected_message_ids=rejected)
