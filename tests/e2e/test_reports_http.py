"""The compliance reports over HTTP: a tier of agencies ranked against its targets, the CSV export, the national
index's items; read from the counters the flows of the other tests (and this one) wrote."""

from __future__ import annotations

import csv
import io
import urllib.request
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.calendar import month_of
from tests.support import Api, commune, submission, wait_for

AGENCY = commune(27)  # shared with other tests' flows: the figures below are what this test adds


def _row(ranking: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in ranking["agencies"] if row["agency"]["code"] == AGENCY)


def test_communes_are_ranked_against_their_targets_and_exported_as_csv(api: Api, admin_token: str) -> None:
    citizen = api.token("citizen", sub="report-citizen")
    period = month_of(datetime.now(UTC))
    before = api.kpi(AGENCY, period, admin_token)["filed"]["by_channel"]
    for channel in ("online", "online", "direct"):
        assert api.call("POST", "/v1/dossiers", submission(agency_code=AGENCY, channel=channel), token=citizen).status == 201
    wait_for(lambda: api.kpi(AGENCY, period, admin_token),
             lambda r: r["filed"]["total"] >= sum(before.values()) + 3, 8.0)

    reply = api.call("GET", f"/v1/reports/kpi?period={period}&agency=H46&tier=commune", token=admin_token)
    assert reply.status == 200, reply.body
    ranking = reply.body["ranking"]
    assert ranking["tier"] == "commune" and len(ranking["agencies"]) == 40  # the seeded province's communes
    ours = _row(ranking)
    online = ours["figures"]["online_share"]
    assert online["numerator"] >= before["online"] + 2 and online["denominator"] >= sum(before.values()) + 3
    assert online["rank"] is not None
    target = next(t for t in ours["targets"] if t["figure"] == "online_share")
    assert (target["minimum_percent"], target["met"]) == (50.0, online["percent"] >= 50)
    ranked = [row["figures"]["online_share"]["rank"] for row in ranking["agencies"]]
    assert [r for r in ranked if r is not None] == sorted(r for r in ranked if r is not None)
    assert reply.body["targets"] == []  # the province root itself is in no tier the decision holds

    request = urllib.request.Request(f"{api.base_url}/v1/reports/kpi?period={period}&agency=H46&tier=commune&format=csv",
                                     headers={"Authorization": f"Bearer {admin_token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8-sig"))))
    assert len(rows) == 40
    ours_csv = next(row for row in rows if row["agency_code"] == AGENCY)
    assert (ours_csv["online_share_numerator"], ours_csv["online_share_met"]) == (
        str(online["numerator"]), str(target["met"]))
    assert api.call("GET", f"/v1/reports/kpi?period={period}&agency=H46&format=csv",
                    token=admin_token).body["error"]["code"] == "QUERY_INVALID"


def test_the_index_766_report_scores_what_it_can_and_lists_what_it_cannot(api: Api, admin_token: str) -> None:
    year = str(datetime.now(UTC).year)
    reply = api.call("GET", f"/v1/reports/index766?period={year}&agency=H46", token=admin_token)
    assert reply.status == 200, reply.body
    body = reply.body
    assert {i["id"] for i in body["items"]} == {"2.1", "3.tt", "3.2", "3.3", "3.5", "3.5b", "3.6", "4.1", "4.2", "5.4"}
    assert len(body["months"]) == 12 and body["total"]["points"] == 100
    assert any(i["id"] == "1.4" for i in body["not_computable"])
    citizen = api.token("citizen", sub="report-citizen")
    assert api.call("GET", f"/v1/reports/index766?period={year}&agency=H46", token=citizen).status == 403


def test_the_xlsx_has_a_ranked_sheet_per_tier_with_misses_highlighted_and_a_chart(api: Api, admin_token: str) -> None:
    import openpyxl

    period = month_of(datetime.now(UTC))
    # API Gateway passes a binary body only to a client that accepts its type (Chalice's local server does the same)
    request = urllib.request.Request(f"{api.base_url}/v1/reports/kpi?period={period}&agency=H46&format=xlsx",
                                     headers={"Authorization": f"Bearer {admin_token}",
                                              "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument")
        book = openpyxl.load_workbook(io.BytesIO(response.read()))
    assert book.sheetnames == ["Sở, ban, ngành", "Cấp xã"]  # the seeded province has two tiers
    communes = book["Cấp xã"]
    assert communes.max_row == 2 + 40 and communes["B2"].value == "Mã cơ quan"
    ours = next(row for row in communes.iter_rows(min_row=3) if row[1].value == AGENCY)
    report = api.call("GET", f"/v1/reports/kpi?period={period}&agency=H46&tier=commune", token=admin_token).body
    online = _row(report["ranking"])["figures"]["online_share"]["percent"]
    assert (ours[3].value, ours[4].value) == (online, 50)  # online share against its 50% target
    assert ours[3].fill.fgColor.rgb.endswith("C6EFCE" if online >= 50 else "F8CBAD")  # met green, missed red
    ranks = [row[0].value for row in communes.iter_rows(min_row=3) if row[0].value is not None]
    assert ranks == sorted(ranks)
    assert len(communes._charts) == 1  # the online share per agency against its target
