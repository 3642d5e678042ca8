"""Read use cases: a dossier for whoever may see it, an applicant's own dossiers, an agency's work queue."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib.domain import access
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import ValidationError, dossier_not_found
from chalicelib.domain.events import iso_utc
from chalicelib.domain.history import Actor, HistoryEntry
from chalicelib.domain.vocabulary import Status
from chalicelib.services.ports import Catalogue, Cursor, DossierReader, Page


def readable_dossier(dossier_id: str, actor: Actor, dossiers: DossierReader) -> Dossier:
    """Applicants see only their own; a dossier they may not see answers 404, so ids cannot be probed."""
    dossier = dossiers.get(dossier_id)
    if dossier is None or not access.may_read(actor, dossier):
        raise dossier_not_found(dossier_id)
    return dossier


def dossier_history(dossier_id: str, actor: Actor, dossiers: DossierReader) -> list[HistoryEntry]:
    """Every change, oldest first (what the viewer may see of each is the view's business)."""
    readable_dossier(dossier_id, actor, dossiers)
    return dossiers.history(dossier_id)


_DOSSIER_KEY = re.compile(r"DOSSIER#[0-9a-f]{32}")
_SORT_VALUE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def check_cursor(cursor: dict[str, Any] | None, partition: tuple[str, str], sort_key: str) -> None:
    """A cursor is an index's last key: exactly these string attributes, in the caller's own partition, each
    shaped as the table writes it (a dossier key, an instant), so a forged one never reaches DynamoDB."""
    if cursor is None:
        return
    name, value = partition
    well_formed = set(cursor) == {"pk", "sk", name, sort_key} and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in cursor.values()
    )
    if (
        not well_formed
        or cursor[name]["S"] != value
        or not _DOSSIER_KEY.fullmatch(cursor["pk"]["S"])
        or cursor["sk"]["S"] != "DOSSIER"
        or not _SORT_VALUE.fullmatch(cursor[sort_key]["S"])
    ):
        raise ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")


def list_my_dossiers(actor: Actor, limit: int, cursor: Cursor | None, dossiers: DossierReader) -> Page:
    access.require_role(actor, access.OWN_DOSSIERS)
    check_cursor(cursor, ("owner_id", actor.user_id), "submitted_at")
    return dossiers.list_for_owner(actor.user_id, limit, cursor)


def work_queue(
    agency_code: str,
    actor: Actor,
    catalogue: Catalogue,
    dossiers: DossierReader,
    *,
    status: str | None,
    due_before: datetime | None,
    overdue: bool,
    limit: int,
    cursor: Cursor | None,
    now: datetime,
) -> Page:
    """An officer's queue: newest first from the agency index, or most urgent first from the due index
    when a due date or `overdue` narrows it. Never a scan."""
    access.require_role(actor, access.AGENCY_DATA)  # before any lookup: a citizen learns nothing of agency codes
    agency = catalogue.agency(agency_code)
    access.require_agency_scope(actor, agency, ("danh sách hồ sơ", "dossiers"))
    if status is not None and status not in {s.value for s in Status}:
        raise ValidationError(f"Trạng thái '{status}' không tồn tại. (Unknown status.)", code="QUERY_INVALID")
    bounds = [t for t in (due_before, now if overdue else None) if t is not None]
    if bounds:
        limit_at = min(bounds)
        check_cursor(cursor, ("due_agency", agency.code), "due_at")
        return dossiers.list_due(agency.code, iso_utc(limit_at), limit, cursor, status)
    else:
        partition = ("agency_status", f"{agency.code}#{status}") if status else ("agency_code", agency.code)
        check_cursor(cursor, partition, "submitted_at")
    return dossiers.list_for_agency(agency.code, status, limit, cursor)
