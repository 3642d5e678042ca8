"""Administrators' routes for the directives: each agency's pilot paper-free days."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain import access
from chalicelib.domain.directives import PaperFreeDays
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, json_body
from chalicelib.handlers.params import AGENCY_CODE
from chalicelib.services import paper_free_days as use_cases

bp = Blueprint(__name__)


def _view(schedule: PaperFreeDays) -> dict[str, Any]:
    return {"agency_code": schedule.agency_code, "days": sorted(day.isoformat() for day in schedule.days),
            "procedure_codes": sorted(schedule.procedures)}


@bp.route("/v1/admin/agencies/{agency_code}/paper-free-days", methods=["GET"])
@endpoint(RouteDoc(summary="An agency's pilot paper-free days and the procedures they apply to",
                   response_schema="paper-free-days.v1.json", path=(AGENCY_CODE,),
                   errors=(400, 401, 403, 404, 502, 503)))
def get_paper_free_days(agency_code: str) -> dict[str, Any]:
    access.require_role(current_actor(bp), access.READ_CALENDAR)
    c = container()
    return _view(use_cases.paper_free_days(agency_code, c.catalogue, c.paper_free_days))


@bp.route("/v1/admin/agencies/{agency_code}/paper-free-days", methods=["PUT"])
@endpoint(RouteDoc(summary="Set an agency's pilot paper-free days: at least two full-online procedures (admins)",
                   request_schema="paper-free-days-request.v1.json", response_schema="paper-free-days.v1.json",
                   path=(AGENCY_CODE,), errors=(400, 401, 403, 404, 422, 502, 503)))
def set_paper_free_days(agency_code: str) -> dict[str, Any]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    body = json_body(bp, "paper-free-days-request.v1.json")
    c = container()
    days = [date.fromisoformat(day) for day in body["days"]]  # the schema checked each is a date
    return _view(use_cases.set_paper_free_days(agency_code, days, body["procedure_codes"], c.catalogue,
                                               c.paper_free_days))
