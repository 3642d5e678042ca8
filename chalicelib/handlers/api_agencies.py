"""Officers' work queue: an agency's dossiers from its indexes, newest first or most urgent first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain.errors import ValidationError
from chalicelib.handlers.http import (
    RouteDoc,
    current_actor,
    decode_cursor,
    encode_cursor,
    endpoint,
    query_int,
    query_params,
)
from chalicelib.services import queries

bp = Blueprint(__name__)


def _instant(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(
            "due_before phải là thời điểm ISO-8601 có múi giờ, ví dụ 2026-11-30T10:00:00Z. (due_before needs a zone.)",
            code="QUERY_INVALID",
        )
    return value


@bp.route("/v1/agencies/{agency_code}/dossiers", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="An agency's dossiers (officers of that agency or above, admins)",
        response_schema="dossier-page.v1.json",
        query=(
            ("status", "only this status (e.g. received, processing)", False),
            ("due_before", "only open dossiers due before this instant (ISO-8601); most urgent first", False),
            ("overdue", "true: only open dossiers past their due time; most urgent first", False),
            ("limit", "page size, 1..100 (default 20)", False),
            ("cursor", "from the previous page", False),
        ),
        errors=(400, 401, 403, 404),
    )
)
def work_queue(agency_code: str) -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    overdue = params.get("overdue", "false")
    if overdue not in ("true", "false"):
        raise ValidationError("overdue phải là true hoặc false. (overdue must be true or false.)", code="QUERY_INVALID")
    c = container()
    items, next_key = queries.work_queue(
        agency_code,
        actor,
        c.catalogue,
        status=params.get("status"),
        due_before=_instant(params.get("due_before")),
        overdue=overdue == "true",
        limit=query_int(bp, "limit", 20, 1, 100),
        cursor=decode_cursor(params.get("cursor")),
        now=c.now(),
    )
    return {"items": items, "next_cursor": encode_cursor(next_key)}
