"""End to end over real HTTP: submit → DynamoDB → stream → relay → EventBridge → SQS → counters → report."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.calendar import month_of
from tests.support import Api, commune, submission, wait_for

AGENCY = commune(0)


def test_a_submitted_dossier_shows_in_the_report_within_seconds(api: Api, admin_token: str) -> None:
    citizen = api.token("citizen", sub="e2e-citizen")
    period_now = month_of(datetime.now(UTC))
    province_before = api.kpi("H46", period_now, admin_token)["filed"]["total"]
    reply = api.call("POST", "/v1/dossiers", submission(agency_code=AGENCY), token=citizen)
    assert reply.status == 201, reply.body
    dossier = reply.body
    assert dossier["code"].startswith(f"{AGENCY}-")
    assert dossier["status"] == "registered" and dossier["status_code"] == 1
    period = month_of(datetime.fromisoformat(dossier["submitted_at"]))

    report = wait_for(lambda: api.kpi(AGENCY, period, admin_token), lambda r: r["filed"]["total"] >= 1, 5.0)
    assert report["filed"]["total"] == 1
    assert report["filed"]["by_channel"]["online"] == 1
    assert report["online_share"] == {"numerator": 1, "denominator": 1, "percent": 100.0}
    if period == period_now:  # the province's figures include its communes'
        province = wait_for(lambda: api.kpi("H46", period, admin_token),
                            lambda r: r["filed"]["total"] > province_before, 5.0)
        assert province["filed"]["total"] > province_before


def test_the_owner_reads_it_and_nobody_else_does(api: Api) -> None:
    owner = api.token("citizen", sub="owner-1")
    stranger = api.token("citizen", sub="stranger-1")
    created = api.call("POST", "/v1/dossiers", submission(agency_code=commune(1)), token=owner).body
    path = f"/v1/dossiers/{created['id']}"

    assert api.call("GET", path, token=owner).body == created
    assert api.call("GET", path, token=stranger).status == 404
    assert api.call("GET", path).status == 401
    assert api.call("GET", path, token=api.token("officer", agency=commune(1))).status == 200
    assert api.call("GET", path, token=api.token("officer", agency="H46.01")).status == 404


def test_health_and_openapi_are_public(api: Api) -> None:
    assert api.call("GET", "/v1/health").body["status"] == "ok"
    document = api.call("GET", "/v1/openapi.json").body
    assert document["openapi"] == "3.1.0"
    assert "/v1/dossiers" in document["paths"]
