"""Use case: find open dossiers due soon or overdue through the due index, and emit one warning each.

Each warning is an outbox event keyed by the dossier, its kind and its due time, written on condition it
does not exist: running the watch twice a day (or on demand as well as on schedule) warns once per due time.
The dossier itself is not touched, so the watch never races an officer's version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.actions import change_event
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import AlreadyRecordedError
from chalicelib.domain.events import Deadline, DossierChanged, EventType, iso_utc
from chalicelib.services.ports import DossierReader, UnitOfWork

PAGE = 100


@dataclass
class WatchResult:
    due_soon: int = 0
    overdue: int = 0
    already_warned: int = 0
    agencies: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"due_soon": self.due_soon, "overdue": self.overdue, "already_warned": self.already_warned,
                "agencies": self.agencies}


def warning(dossier: Dossier, kind: str, now: datetime) -> DossierChanged:
    assert dossier.due_at is not None
    due = iso_utc(dossier.due_at)
    return change_event(
        dossier, kind, event_id=f"{kind}:{dossier.id}:{due}", now=now, from_status=dossier.status,
        actor_id="deadline-watch", actor_name=None, actor_role="system", payload=Deadline(due_at=dossier.due_at),
    )


def watch_deadlines(
    uow_factory: Callable[[], UnitOfWork],
    dossiers: DossierReader,
    agency_codes: list[str],
    calendar: WorkingCalendar,
    *,
    now: datetime,
    within_working_days: int = 2,
) -> WatchResult:
    """Warn about every open dossier due within `within_working_days` working days, or already overdue."""
    horizon = iso_utc(calendar.appointment(now, within_working_days))
    result = WatchResult(agencies=len(agency_codes))
    for agency in agency_codes:
        cursor: dict[str, Any] | None = None
        while True:
            page, cursor = dossiers.list_due(agency, horizon, PAGE, cursor)
            for dossier in page:
                if dossier.due_at is None:
                    continue
                kind = EventType.DOSSIER_OVERDUE if dossier.due_at < now else EventType.DOSSIER_DUE_SOON
                uow = uow_factory()
                uow.add_watch_event(dossier.id, f"{kind}#{iso_utc(dossier.due_at)}", warning(dossier, kind, now))
                try:
                    uow.commit()
                except AlreadyRecordedError:
                    result.already_warned += 1
                    continue
                if kind == EventType.DOSSIER_OVERDUE:
                    result.overdue += 1
                else:
                    result.due_soon += 1
            if not cursor:
                break
    return result
