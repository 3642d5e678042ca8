"""Report routes: compliance figures read from the counters, never by scanning dossiers."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain.errors import ValidationError
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, query_params
from chalicelib.services import queries

bp = Blueprint(__name__)


@bp.route("/v1/reports/kpi", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="KPI figures of an agency (its subordinates included) for a month or quarter",
        response_schema="kpi-report.v1.json",
        query=(("period", "YYYY-MM or YYYY-Qn, Vietnam time", True), ("agency", "agency code", True)),
        errors=(400, 401, 403, 404),
    )
)
def kpi() -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    if not params.get("period") or not params.get("agency"):
        raise ValidationError(
            "Cần tham số period (YYYY-MM) và agency. (period and agency are required.)", code="QUERY_INVALID"
        )
    return queries.kpi_report(params["agency"], params["period"], actor, container().catalogue)
