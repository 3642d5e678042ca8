"""Province administrators' routes and the scheduled jobs they can also start by hand."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Cron

from chalicelib.auth import require_role
from chalicelib.bootstrap import container
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, json_body, logger
from chalicelib.services.deadline_watch import watch_deadlines

bp = Blueprint(__name__)


def _run_watch(within_working_days: int) -> dict[str, Any]:
    c = container()
    now = c.now()
    result = watch_deadlines(
        c.unit_of_work, c.catalogue.agency_codes(), c.calendar_for(now.year), now=now,
        within_working_days=within_working_days,
    )
    logger.info("deadline watch", extra=result.as_dict())
    return result.as_dict()


@bp.schedule(Cron(0, 0, "*", "*", "?", "*"), name="deadline_watch")  # 07:00 in Vietnam, every day
def deadline_watch(event: Any) -> dict[str, Any]:
    return _run_watch(2)


@bp.route("/v1/admin/deadline-watch", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Run the deadline watch now (admins): warn about dossiers due soon or overdue",
        request_schema="deadline-watch-request.v1.json",
        response_schema="deadline-watch-result.v1.json",
        errors=(400, 401, 403),
    )
)
def run_deadline_watch() -> dict[str, Any]:
    require_role(current_actor(bp), "admin")
    body = json_body(bp, "deadline-watch-request.v1.json")
    return _run_watch(body.get("within_working_days", 2))
