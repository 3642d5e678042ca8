"""Officers' work queue: an agency's dossiers from its indexes, newest first or most urgent first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.handlers.http import (
    RouteDoc,
    current_actor,
    decode_cursor,
    encode_cursor,
    endpoint,
    query_params,
)
from chalicelib.handlers.params import AGENCY_CODE, CURSOR, DUE_BEFORE, LIMIT, OVERDUE, STATUS
from chalicelib.handlers.views import dossier_view
from chalicelib.services import queries

bp = Blueprint(__name__)


@bp.route("/v1/agencies/{agency_code}/dossiers", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="An agency's dossiers (officers of that agency or above, admins)",
        response_schema="dossier-page.v1.json",
        path=(AGENCY_CODE,),
        query=(STATUS, DUE_BEFORE, OVERDUE, LIMIT, CURSOR),
        errors=(400, 401, 403, 404, 502, 503),
    )
)
def work_queue(agency_code: str) -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    due_before = params.get("due_before")
    c = container()
    now = c.now()
    page, next_key = queries.work_queue(
        agency_code,
        actor,
        c.catalogue,
        c.dossiers,
        status=params.get("status"),
        due_before=datetime.fromisoformat(due_before) if due_before else None,
        overdue=params["overdue"],
        limit=params["limit"],
        cursor=decode_cursor(params.get("cursor")),
        now=now,
    )
    return {"items": [dossier_view(d, now, actor) for d in page], "next_cursor": encode_cursor(next_key)}
