"""Publishing to the EventBridge bus: `PutEvents` in batches of at most ten, failed entries reported back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.topology import EVENT_SOURCE

MAX_ENTRIES_PER_CALL = 10


@dataclass(frozen=True)
class OutgoingEvent:
    event_type: str
    detail: dict[str, Any]


class Publisher(Protocol):
    def publish(self, events: Sequence[OutgoingEvent]) -> list[int]:
        """Publish and return the positions of the events the bus did not accept."""
        ...


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[OutgoingEvent]) -> list[int]:
        failed: list[int] = []
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": event.event_type,
                        "Detail": json.dumps(event.detail, ensure_ascii=False),
                        "EventBusName": self._bus_name,
                    }
                    for event in chunk
                ]
            )
            for offset, entry in enumerate(response.get("Entries", [])):
                if entry.get("ErrorCode"):
                    failed.append(start + offset)
        return failed
