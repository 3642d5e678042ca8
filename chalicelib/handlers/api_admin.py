"""Province administrators' routes and the scheduled jobs they can also start by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice.app import Blueprint, Cron

from chalicelib.bootstrap import container
from chalicelib.domain import access
from chalicelib.domain.calendar import DeclaredDay
from chalicelib.domain.errors import ValidationError
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, json_body, logger
from chalicelib.handlers.params import DAY
from chalicelib.services import calendar
from chalicelib.services.deadline_watch import watch_deadlines
from chalicelib.services.period_close import close_month, month_to_close
from chalicelib.services.rebuild import rebuild
from chalicelib.services.reports import period_months
from chalicelib.topology import REBUILD_FUNCTION
from chalicelib.validation import validate

bp = Blueprint(__name__)


def _run_watch(within_working_days: int) -> dict[str, Any]:
    c = container()
    now = c.now()
    result = watch_deadlines(
        c.unit_of_work, c.dossiers, c.catalogue.agency_codes(), c.calendar_for(now.year), now=now,
        within_working_days=within_working_days,
    )
    logger.info("deadline watch", extra=result.as_dict())
    return result.as_dict()


@bp.schedule(Cron(0, 0, "*", "*", "?", "*"), name="deadline_watch")  # 07:00 in Vietnam, every day
def deadline_watch(event: Any) -> dict[str, Any]:
    result = _run_watch(2)
    c = container()
    month = month_to_close(c.now())
    if month is not None:  # on the 1st: the month-end snapshot of the on-time rule (index 2.1), idempotent
        closed = close_month(month, c.catalogue.agency_codes(), c.dossiers, c.counters, c.calendar_for, now=c.now())
        logger.info("period close", extra=closed.as_dict())
    return result


@bp.route("/v1/admin/deadline-watch", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Run the deadline watch now (admins): warn about dossiers due soon or overdue",
        request_schema="deadline-watch-request.v1.json",
        response_schema="deadline-watch-result.v1.json",
        errors=(400, 401, 403, 502, 503),  # the watch reads and writes dossiers: DynamoDB may be busy
    )
)
def run_deadline_watch() -> dict[str, Any]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    body = json_body(bp, "deadline-watch-request.v1.json")
    return _run_watch(body.get("within_working_days", 2))


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("Ngày phải có dạng YYYY-MM-DD. (day must be YYYY-MM-DD.)", code="DAY_INVALID") from None


def _calendar_view(province_root: str, days: list[DeclaredDay]) -> dict[str, Any]:
    return {"province": province_root,
            "days": [{"day": d.day.isoformat(), "kind": d.kind, "reason": d.reason} for d in days]}


@bp.route("/v1/admin/calendar", methods=["GET"])
@endpoint(RouteDoc(summary="The province's declared days off and working days (on top of public holidays)",
                   response_schema="calendar.v1.json", errors=(401, 403, 502, 503)))
def list_calendar() -> dict[str, Any]:
    access.require_role(current_actor(bp), access.READ_CALENDAR)
    calendars = container().calendars
    return _calendar_view(calendars.province_root, calendar.declared_days(calendars))


@bp.route("/v1/admin/calendar/{day}", methods=["PUT"])
@endpoint(RouteDoc(summary="Declare a day off (or a compensatory working day) for the province (admins)",
                   request_schema="calendar-day.v1.json", response_schema="calendar.v1.json", path=(DAY,),
                   errors=(400, 401, 403, 502, 503)))
def declare_day(day: str) -> dict[str, Any]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    body = json_body(bp, "calendar-day.v1.json")
    calendars = container().calendars
    days = calendar.declare_day(_day(day), body["kind"], body["reason"], calendars)
    return _calendar_view(calendars.province_root, days)


@bp.route("/v1/admin/calendar/{day}", methods=["DELETE"])
@endpoint(RouteDoc(summary="Withdraw a declared day (admins)", response_schema="calendar.v1.json", path=(DAY,),
                   errors=(400, 401, 403, 502, 503)))
def undeclare_day(day: str) -> dict[str, Any]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    calendars = container().calendars
    return _calendar_view(calendars.province_root, calendar.undeclare_day(_day(day), calendars))


@bp.route("/v1/admin/counters/rebuild", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Recount a period's counters from the dossiers' recorded events and list every difference from the "
                "live counters (admins); reads every dossier of the province, so run it off-peak",
        request_schema="rebuild-request.v1.json",
        response_schema="rebuild-result.v1.json",
        errors=(400, 401, 403, 502, 503),
    )
)
def rebuild_counters() -> dict[str, Any]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    return _run_rebuild(json_body(bp, "rebuild-request.v1.json"))


@bp.lambda_function(name=REBUILD_FUNCTION)
def rebuild_counters_function(event: Any, context: Any) -> dict[str, Any]:
    """The same rebuild, invoked directly (`aws lambda invoke --payload '{"period": "2026-11"}'`): a province's year
    reads every dossier, longer than API Gateway waits for the route. Bad input answers the API's error shape."""
    try:
        validate("rebuild-request.v1.json", event)
        return _run_rebuild(event)
    except ValidationError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}


def _run_rebuild(request: dict[str, Any]) -> dict[str, Any]:
    c = container()
    agencies = c.catalogue.agency_codes()
    report = rebuild(agencies, period_months(request["period"]), c.dossiers, c.counters, c.shadow_counters,
                     request.get("compare", agencies))
    logger.info("counter rebuild", extra={k: v for k, v in report.as_dict().items() if k != "differences"}
                | {"differences": len(report.differences)})
    return report.as_dict()
