"""Paper-free days per agency over HTTP on the local stack: administrators set them, desks then refuse paper."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.calendar import VN_TZ
from infra.seed import agencies
from tests.support import Api, commune, submission

PATH = "/v1/admin/agencies/{}/paper-free-days"


def test_an_admin_sets_a_communes_paper_free_days_and_its_desk_refuses_paper(api: Api, admin_token: str) -> None:
    agency = commune(15)
    today = datetime.now(VN_TZ).date().isoformat()
    officer = api.token("officer", sub="pfd-officer", agency=agency)
    citizen = api.token("citizen", sub="pfd-citizen")
    assert api.call("GET", PATH.format(agency), token=officer).body == {"agency_code": agency, "days": [],
                                                                        "procedure_codes": []}
    choice = {"days": [today], "procedure_codes": ["1.001193", "1.000656"]}
    assert api.call("PUT", PATH.format(agency), choice, token=officer).status == 403  # admins only
    assert api.call("GET", PATH.format(agency), token=citizen).status == 403
    set_reply = api.call("PUT", PATH.format(agency), choice, token=admin_token)
    try:
        assert set_reply.status == 200, set_reply.body
        assert set_reply.body == {"agency_code": agency, "days": [today], "procedure_codes": ["1.000656", "1.001193"]}
        assert api.call("GET", PATH.format(agency), token=officer).body == set_reply.body
        paper = api.call("POST", "/v1/dossiers", submission("1.001193", agency, "direct"), token=citizen)
        assert (paper.status, paper.body["error"]["code"]) == (422, "PAPER_FREE_DAY")
        online = api.call("POST", "/v1/dossiers", submission("1.001193", agency, "online"), token=citizen)
        assert online.status == 201, online.body
        elsewhere = api.call("POST", "/v1/dossiers", submission("1.001193", commune(16), "direct"), token=citizen)
        assert elsewhere.status == 201, elsewhere.body
    finally:
        ended = api.call("PUT", PATH.format(agency), {**choice, "days": []}, token=admin_token)
    assert ended.status == 200 and ended.body["days"] == []


def test_a_choice_must_keep_the_directive(api: Api, admin_token: str) -> None:
    agency = commune(15)
    one = api.call("PUT", PATH.format(agency), {"days": [], "procedure_codes": ["1.001193"]}, token=admin_token)
    assert one.status == 400
    partial = api.call("PUT", PATH.format(agency), {"days": [], "procedure_codes": ["1.001193", "1.000894"]},
                       token=admin_token)
    assert (partial.status, partial.body["error"]["code"]) == (422, "PAPER_FREE_NOT_FULL_ONLINE")
    elsewhere = api.call("PUT", PATH.format(agency), {"days": [], "procedure_codes": ["1.001193", "2.001610"]},
                         token=admin_token)
    assert (elsewhere.status, elsewhere.body["error"]["code"]) == (422, "PROCEDURE_NOT_AT_AGENCY")
    bad_day = api.call("PUT", PATH.format(agency), {"days": ["2026-13-01"], "procedure_codes": ["1.001193", "1.000656"]},
                       token=admin_token)
    assert bad_day.status == 400
    missing = api.call("PUT", PATH.format("H46.C99999"), {"days": [], "procedure_codes": ["1.001193", "1.000656"]},
                       token=admin_token)
    assert missing.status == 404


def test_the_seed_loads_an_example(api: Api, admin_token: str) -> None:
    finance = next(a for a in agencies(46) if a.department == "tai_chinh")
    example = api.call("GET", PATH.format(finance.code), token=admin_token).body
    assert example["procedure_codes"] == ["2.001610", "2.002011"] and len(example["days"]) >= 2
