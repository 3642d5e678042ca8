"""Who did what to a dossier: the actor of a command and the audit entry each change leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .roles import APPLICANTS


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, as the token names them."""

    user_id: str
    role: str  # citizen | organisation | officer | admin
    display_name: str
    agency_code: str | None = None

    @property
    def is_applicant(self) -> bool:
        return self.role in APPLICANTS


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    at: datetime
    actor: Actor
    action: str
    from_status: str | None
    to_status: str
    note: str | None = None
    internal: bool = False  # officer-internal notes are hidden from the applicant's view
    request_id: str | None = None
