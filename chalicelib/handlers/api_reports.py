"""Report routes: compliance figures read from the counters, never by scanning dossiers."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, query_params
from chalicelib.handlers.params import AGENCY, PERIOD
from chalicelib.services import queries

bp = Blueprint(__name__)


@bp.route("/v1/reports/kpi", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="KPI figures of an agency (its subordinates included) for a month or quarter",
        response_schema="kpi-report.v1.json",
        query=(PERIOD, AGENCY),
        errors=(400, 401, 403, 404, 502, 503),  # the counters are read from DynamoDB
    )
)
def kpi() -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    c = container()
    return queries.kpi_report(params["agency"], params["period"], actor, c.catalogue, c.counters)
