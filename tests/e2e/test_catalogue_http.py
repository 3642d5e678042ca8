"""The catalogue for the app over HTTP on the local stack: public, searchable, paged, cacheable (issue 8, point 15)."""

from __future__ import annotations

from urllib.parse import quote

from infra.seed import agencies
from tests.support import Api, Reply

POLICE = next(a.code for a in agencies(46) if a.department == "cong_an")


def get(api: Api, path: str, **headers: str) -> Reply:
    return api.call("GET", path, headers=headers)  # no token: these are public reads


def test_procedures_are_found_without_a_token_whatever_the_case_and_diacritics(api: Api) -> None:
    for q in ("KHAI SINH", "khai sinh", "Khai Sinh", "đăng ký khai sinh", "dang ky khai sinh"):
        reply = get(api, f"/v1/procedures?q={quote(q)}")
        assert reply.status == 200, reply.body
        assert "1.001193" in [p["code"] for p in reply.body["items"]], q
    by_code = get(api, "/v1/procedures?q=001193").body["items"]
    assert [p["code"] for p in by_code] == ["1.001193"]
    assert by_code[0] == {"code": "1.001193", "name": "Đăng ký khai sinh", "field": "Hộ tịch", "level": "commune",
                          "department": None, "online_form": "full", "full_online": True, "postal_result": True}


def test_an_agencys_procedures_narrowed_by_online_form(api: Api) -> None:
    reply = get(api, f"/v1/procedures?agency={POLICE}&online_form=full")
    assert [p["code"] for p in reply.body["items"]] == ["3.000333", "3.000347"]
    assert get(api, "/v1/procedures?agency=H46.99").body["error"]["code"] == "AGENCY_NOT_FOUND"


def test_pages_follow_the_cursor_to_the_end(api: Api) -> None:
    everything = get(api, "/v1/procedures?level=commune&limit=100").body["items"]
    seen, path = [], "/v1/procedures?level=commune&limit=4"
    while True:
        reply = get(api, path)
        assert reply.status == 200, reply.body
        seen += reply.body["items"]
        if reply.body["next_cursor"] is None:
            break
        path = f"/v1/procedures?level=commune&limit=4&cursor={reply.body['next_cursor']}"
    assert seen == everything and len(seen) > 8
    assert get(api, "/v1/procedures?cursor=bm9wZQ").body["error"]["code"] == "CURSOR_INVALID"


def test_one_procedure_in_full_with_its_online_fee_and_agencies(api: Api) -> None:
    reply = get(api, "/v1/procedures/3.000347")
    assert reply.status == 200, reply.body
    licence = reply.body
    assert licence["fees"] == [{"name": "Lệ phí cấp đổi giấy phép lái xe", "amount": 135000, "online_amount": 115000}]
    assert licence["full_online"] is True and licence["processing_time"]["unit"] in ("hours", "working_days", "days",
                                                                                       "months")
    in_province = [a["code"] for a in licence["agencies"] if a["code"].startswith("H46")]  # other tests add agencies
    assert in_province == ["H46.00", POLICE]
    assert licence["required_documents"]
    missing = get(api, "/v1/procedures/9.999999")
    assert (missing.status, missing.body["error"]["code"]) == (404, "PROCEDURE_NOT_FOUND")


def test_the_agency_tree(api: Api) -> None:
    departments = get(api, "/v1/agencies?parent=H46&level=province").body["items"]
    assert {a["kind"] for a in departments} == {"department", "service_centre"}
    assert all(a["parent"] == "H46" and a["path"] == ["H46", a["code"]] for a in departments)
    root = [a for a in get(api, "/v1/agencies?level=province").body["items"] if a["parent"] is None]
    assert [a["code"] for a in root] == ["H46"]
    assert get(api, "/v1/agencies?parent=H46.99").status == 404


def test_answers_carry_a_strong_etag_and_a_current_one_answers_304(api: Api) -> None:
    for path in ("/v1/procedures?q=ho%20kinh%20doanh", "/v1/procedures/1.001193", "/v1/agencies?parent=H46"):
        first = get(api, path)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and first.headers["Cache-Control"].startswith("public, max-age=")
        again = get(api, path, **{"If-None-Match": etag})
        assert (again.status, again.body, again.headers["ETag"]) == (304, None, etag)
        assert get(api, path, **{"If-None-Match": '"stale"'}).status == 200


def test_parameters_outside_their_schemas_are_refused(api: Api) -> None:
    for path in ("/v1/procedures?level=district2", "/v1/procedures?q=", "/v1/procedures?q=" + "a" * 101,
                 "/v1/procedures?online_form=FULL", "/v1/procedures?q=a%0Ab", "/v1/procedures?limit=0",
                 "/v1/agencies?parent=h46", "/v1/procedures/1.001193%20"):
        reply = get(api, path)
        assert reply.status == 400, (path, reply.body)
        assert reply.body["error"]["code"] in ("QUERY_INVALID", "PATH_INVALID"), path
