"""Report routes: compliance figures read from the counters, never by scanning dossiers."""

from __future__ import annotations

import csv
import io
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.bootstrap import container
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.targets import FIGURES, Tier
from chalicelib.handlers import spreadsheet
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, query_params
from chalicelib.handlers.params import AGENCY, PERIOD, REPORT_FORMAT, TIER
from chalicelib.services import reports

bp = Blueprint(__name__)
TIERS = (Tier.DEPARTMENT, Tier.DISTRICT, Tier.COMMUNE)  # the workbook's sheets, in this order


@bp.route("/v1/reports/kpi", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="KPI figures of an agency (its subordinates included) for a month, quarter or year, against its "
                "targets; with `tier`, every agency of that tier under it ranked (format=csv: the ranking as CSV)",
        response_schema="kpi-report.v1.json",
        query=(PERIOD, AGENCY, TIER, REPORT_FORMAT),
        errors=(400, 401, 403, 404, 502, 503),  # the counters are read from DynamoDB
        other_media_types=("text/csv", spreadsheet.XLSX),
    )
)
def kpi() -> Any:
    actor = current_actor(bp)
    params = query_params(bp)
    c = container()
    if params["format"] == "csv" and not params.get("tier"):
        raise ValidationError("Xuất CSV cần chọn cấp xếp hạng (tier). (format=csv needs tier.)", code="QUERY_INVALID")
    if params["format"] == "xlsx":
        rankings = reports.tier_reports(params["agency"], params["period"], TIERS, actor, c.catalogue, c.listings,
                                        c.counters, c.targets)
        return Response(body=spreadsheet.workbook([r for r in rankings if r["agencies"]]), status_code=200,
                        headers={"Content-Type": spreadsheet.XLSX,
                                 "Content-Disposition": f'attachment; filename="kpi-{params["period"]}.xlsx"'})
    tier = Tier(params["tier"]) if params.get("tier") else None
    report = reports.kpi_report(params["agency"], params["period"], tier, actor, c.catalogue, c.listings, c.counters,
                                c.targets)
    if params["format"] == "csv":
        return Response(body=ranking_csv(report["ranking"]), status_code=200,
                        headers={"Content-Type": "text/csv; charset=utf-8",
                                 "Content-Disposition": f'attachment; filename="kpi-{params["period"]}.csv"'})
    return report


def ranking_csv(ranking: dict[str, Any]) -> str:
    """One row per agency, in rank order: each figure's numerator, denominator, percent, rank and target."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["agency_code", "agency_name"]
    for name in FIGURES:
        header += [f"{name}_numerator", f"{name}_denominator", f"{name}_percent", f"{name}_rank",
                   f"{name}_target_percent", f"{name}_met"]
    writer.writerow(header)
    for row in ranking["agencies"]:
        targets = {t["figure"]: t for t in row["targets"]}
        line = [row["agency"]["code"], row["agency"]["name"]]
        for name in FIGURES:
            figure, target = row["figures"][name], targets.get(name)
            line += [figure["numerator"], figure["denominator"], _blank(figure["percent"]), _blank(figure["rank"]),
                     _blank(target["minimum_percent"] if target else None),
                     _blank(None if target is None else target["met"])]
        writer.writerow(line)
    return "\ufeff" + out.getvalue()  # a BOM: spreadsheet programs then read the Vietnamese names as UTF-8


def _blank(value: Any) -> Any:
    return "" if value is None else value


@bp.route("/v1/reports/index766", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="The national service-quality index (Decision 766/QĐ-TTg): the items computable from our data with "
                "their scores, group totals, and the items we cannot compute with the data they lack",
        response_schema="index766-report.v1.json",
        query=(PERIOD, AGENCY),
        errors=(400, 401, 403, 404, 502, 503),
    )
)
def index766() -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    c = container()
    return reports.index_report(params["agency"], params["period"], actor, c.catalogue, c.listings, c.counters,
                                c.targets)
