"""Domain events, past tense; `detail()` is the JSON the bus carries (no personal data in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.topology import EventType


def iso_utc(at: datetime) -> str:
    """An instant as ISO-8601 in UTC with a `Z`, to the millisecond (sortable as text)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class DossierSubmitted:
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
    applicant_kind: str
    status: str
    status_code: int
    fees_total: int

    event_type = EventType.DOSSIER_SUBMITTED
    schema = "dossier-submitted.v1.json"

    def detail(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
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
            "applicant_kind": self.applicant_kind,
            "status": self.status,
            "status_code": self.status_code,
            "fees_total": self.fees_total,
        }


DomainEvent = DossierSubmitted
