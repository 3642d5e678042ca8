"""Domain events, past tense; `detail()` is the JSON the bus carries (no personal data in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .vocabulary import EventType


def iso_utc(at: datetime) -> str:
    """An instant as ISO-8601 in UTC with a `Z`, to the millisecond (sortable as text)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _DossierEvent:
    """What every dossier event says of its dossier, and the detail fields that come from it."""

    event_id: str
    occurred_at: datetime
    dossier_id: str
    dossier_code: str
    procedure_code: str
    agency_code: str
    agency_path: tuple[str, ...]
    agency_level: str
    channel: str
    online_form: str
    status: str
    status_code: int

    def _reference(self, event_type: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": iso_utc(self.occurred_at),
            "dossier_id": self.dossier_id,
            "dossier_code": self.dossier_code,
            "procedure_code": self.procedure_code,
            "agency_code": self.agency_code,
            "agency_path": list(self.agency_path),
            "agency_level": self.agency_level,
            "channel": self.channel,
            "online_form": self.online_form,
            "status": self.status,
            "status_code": self.status_code,
        }


@dataclass(frozen=True)
class DossierSubmitted(_DossierEvent):
    applicant_kind: str
    fees_total: int

    event_type = EventType.DOSSIER_SUBMITTED
    schema = "dossier-submitted.v1.json"

    def detail(self) -> dict[str, Any]:
        return {
            **self._reference(self.event_type),
            "applicant_kind": self.applicant_kind,
            "fees_total": self.fees_total,
        }


@dataclass(frozen=True)
class DossierChanged(_DossierEvent):
    """Something happened to a dossier after its submission: a transition, or a deadline warning.

    One shape for all of them (`dossier-change.v1.json`), each type with its own schema file that pins
    `event_type`. Names the agency and the officer, as Decree 224/2026 asks of status notices.
    """

    event_type: str
    from_status: str
    actor_id: str | None = None  # officers and the system; an applicant's id is not published
    actor_name: str | None = None
    actor_role: str | None = None
    on_time: bool | None = None  # set when processing ends
    attributes: tuple[tuple[str, Any], ...] = ()  # what else the event type carries

    @property
    def schema(self) -> str:
        return schema_of(self.event_type)

    def detail(self) -> dict[str, Any]:
        return {
            **self._reference(self.event_type),
            "from_status": self.from_status,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "on_time": self.on_time,
            "attributes": dict(self.attributes),
        }


def schema_of(event_type: str) -> str:
    """`DossierReceived` → `dossier-received.v1.json`."""
    kebab = "".join(f"-{c.lower()}" if c.isupper() else c for c in event_type).lstrip("-")
    return f"{kebab}.v1.json"


def known_schema(event_type: str) -> str | None:
    """The schema of an event type we publish, or None for a type we do not know (and so cannot check)."""
    return schema_of(event_type) if event_type in EventType.ALL else None


DomainEvent = DossierSubmitted | DossierChanged
