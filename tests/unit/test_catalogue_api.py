"""The catalogue for the app (issue 8, point 15): folding, search, filters, pages, the online fee, the agency tree,
and the validators that make its answers cacheable. Use cases run on the seeded catalogue held in fakes."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace

import pytest

from app import app
from chalicelib.domain.catalogue import FeeLine, fee_from_data, fee_to_data, procedure_from_data, procedure_to_data
from chalicelib.domain.catalogue_search import ListedProcedure, fold, matches
from chalicelib.domain.errors import NotFoundError, ValidationError
from chalicelib.domain.vocabulary import AgencyLevel, OnlineForm
from chalicelib.handlers.caching import cacheable, etag_of, none_match
from chalicelib.handlers.openapi import build_openapi
from chalicelib.services import catalogue
from chalicelib.services.catalogue import FindProcedures
from infra.seed import agencies, procedures
from tests.fakes import InMemoryCatalogue, InMemoryListings

SEEDED = procedures()
CATALOGUE = InMemoryCatalogue(agencies(46), SEEDED)
LISTINGS = InMemoryListings(CATALOGUE)
COMMUNE = next(a for a in agencies(46) if a.kind == "commune")


def find(**narrowing: object) -> list[str]:
    page, _ = catalogue.find_procedures(FindProcedures(limit=100, **narrowing), CATALOGUE, LISTINGS)  # type: ignore[arg-type]
    return [p.code for p in page]


# --- folding: what a search compares ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("ĐỔI GIẤY PHÉP LÁI XE", "doi giay phep lai xe"),
        ("đất đai", "dat dai"),  # đ is a letter of its own: NFD does not decompose it
        ("Ủy ban  nhân\tdân", "uy ban nhan dan"),  # runs of spaces are one
        (unicodedata.normalize("NFD", "Thủ tục hành chính"), "thu tuc hanh chinh"),  # decomposed input folds the same
        ("1.001193", "1.001193"),
    ],
)
def test_folding_drops_case_diacritics_and_the_stroke_of_d(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("khai sinh", True),
        ("KHAI SINH", True),
        ("Khai Sinh", True),
        ("đăng ký", True),
        ("dang ky", True),
        ("DANG KY", True),
        ("khai sinh dang ky", True),  # words in any order
        ("001193", True),  # part of the code
        ("1.001193", True),
        ("khai tử", False),
        ("1.000894", False),
    ],
)
def test_a_procedure_is_found_by_code_or_by_name_whatever_the_case_and_diacritics(q: str, found: bool) -> None:
    birth = ListedProcedure.of(CATALOGUE.procedure("1.001193"))  # Đăng ký khai sinh
    assert matches(q, birth) is found


def test_the_search_key_is_the_folded_name() -> None:
    assert ListedProcedure.of(CATALOGUE.procedure("3.000347")).search_key == "doi giay phep lai xe"


# --- the online fee -----------------------------------------------------------------------------------------


def test_a_fee_line_may_carry_a_lower_online_amount_and_keeps_it_through_its_data() -> None:
    line = FeeLine("Lệ phí cấp đổi giấy phép lái xe", 135_000, online_amount=115_000)
    assert (line.amount_for(online=True), line.amount_for(online=False)) == (115_000, 135_000)
    assert fee_from_data(fee_to_data(line)) == line
    assert fee_to_data(FeeLine("Lệ phí", 5_000)) == {"name": "Lệ phí", "amount": 5_000}  # no online amount: none written


@pytest.mark.parametrize("online", [135_000, 200_000, -1, True, 1.5])
def test_an_online_amount_is_a_whole_number_of_vnd_below_the_amount(online: object) -> None:
    with pytest.raises(ValueError):
        FeeLine("Lệ phí", 135_000, online_amount=online)  # type: ignore[arg-type]


def test_a_procedure_keeps_its_online_fees_through_its_data() -> None:
    licence = CATALOGUE.procedure("3.000347")
    cheaper = replace(licence, fees=(FeeLine(licence.fees[0].name, 135_000, 115_000),))
    assert procedure_from_data(procedure_to_data(cheaper)).fees == cheaper.fees


# --- finding procedures -------------------------------------------------------------------------------------


def test_a_commune_offers_the_commune_procedures() -> None:
    assert set(find(agency=COMMUNE.code)) == {p.code for p in SEEDED if p.level == AgencyLevel.COMMUNE}


def test_a_department_offers_its_own_and_the_service_centre_every_province_procedure() -> None:
    police = next(a for a in agencies(46) if a.department == "cong_an")
    assert find(agency=police.code) == ["3.000333", "3.000347"]
    province = {p.code for p in SEEDED if p.level == AgencyLevel.PROVINCE}
    assert set(find(agency="H46.00")) == province
    assert find(agency="H46") == []  # the province's people's committee takes no dossier itself


def test_narrowing_by_level_online_form_and_words_combines() -> None:
    found = find(level="commune", online_form="full", q="ho kinh doanh")
    assert found == ["1.001266", "1.001612", "2.000720"]
    assert all(CATALOGUE.procedure(code).online_form == OnlineForm.FULL for code in found)
    assert find(level="province", q="khai sinh") == []


def test_an_unknown_agency_is_not_found_rather_than_an_empty_page() -> None:
    with pytest.raises(NotFoundError):
        find(agency="H46.99")


def test_pages_cover_every_match_once_in_code_order() -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page, cursor = catalogue.find_procedures(FindProcedures(limit=4, q="dang ky", cursor=cursor), CATALOGUE, LISTINGS)
        seen += [p.code for p in page]
        if cursor is None:
            break
    assert seen == sorted(seen) == find(q="dang ky")
    assert len(seen) > 8  # several pages


@pytest.mark.parametrize("cursor", [{"after": 1}, {"after": ""}, {"after": "x" * 41}, {"after": "1", "more": "2"}, {}])
def test_a_forged_cursor_is_refused(cursor: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        catalogue.find_procedures(FindProcedures(cursor=cursor), CATALOGUE, LISTINGS)
    assert caught.value.code == "CURSOR_INVALID"


# --- one procedure, and the agency tree ---------------------------------------------------------------------


def test_a_procedure_comes_with_the_agencies_that_handle_it() -> None:
    _, handlers = catalogue.procedure_details("3.000347", CATALOGUE, LISTINGS)
    assert [a.code for a in handlers] == ["H46.00", next(a.code for a in agencies(46) if a.department == "cong_an")]
    _, communes = catalogue.procedure_details("1.001193", CATALOGUE, LISTINGS)
    assert {a.kind for a in communes} == {"commune"} and len(communes) == sum(a.kind == "commune" for a in agencies(46))
    with pytest.raises(NotFoundError):
        catalogue.procedure_details("9.999999", CATALOGUE, LISTINGS)


def test_the_agency_tree_lists_the_children_of_a_parent_by_level() -> None:
    under_root = catalogue.agency_tree("H46", None, CATALOGUE, LISTINGS)
    assert len(under_root) == len(agencies(46)) - 1 and all(a.path[:-1] == ("H46",) for a in under_root)
    communes = catalogue.agency_tree("H46", "commune", CATALOGUE, LISTINGS)
    assert communes and {a.level for a in communes} == {AgencyLevel.COMMUNE}
    assert [a.code for a in catalogue.agency_tree(None, "province", CATALOGUE, LISTINGS)][:2] == ["H46", "H46.00"]
    assert catalogue.agency_tree(COMMUNE.code, None, CATALOGUE, LISTINGS) == []
    with pytest.raises(NotFoundError):
        catalogue.agency_tree("H46.99", None, CATALOGUE, LISTINGS)


# --- cacheable answers --------------------------------------------------------------------------------------


def test_the_etag_is_strong_and_changes_with_the_body() -> None:
    first, second = cacheable({"a": "Huế"}, None, 300), cacheable({"a": "Hue"}, None, 300)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["ETag"] == etag_of(json.dumps({"a": "Huế"}, ensure_ascii=False, separators=(",", ":")))
    assert not first.headers["ETag"].startswith("W/") and first.headers["ETag"] != second.headers["ETag"]


@pytest.mark.parametrize(
    ("header", "fresh"),
    [(None, False), ("", False), ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True),
     ('"abd"', False), ("abc", False), ('"x",' * 100 + '"abc"', False)],  # past the 64 a cache may send: not read
)
def test_if_none_match_is_compared_weakly(header: str | None, fresh: bool) -> None:
    assert none_match(header, '"abc"') is fresh


def test_a_current_etag_answers_304_with_no_body_and_the_same_validators() -> None:
    first = cacheable({"items": []}, None, 300)
    again = cacheable({"items": []}, first.headers["ETag"], 300)
    assert (again.status_code, again.body) == (304, "")
    assert again.headers == {"ETag": first.headers["ETag"], "Cache-Control": "public, max-age=300"}


def test_the_catalogue_routes_are_public_and_document_304() -> None:
    document = build_openapi(app.routes, version="x")
    for path in ("/v1/procedures", "/v1/procedures/{code}", "/v1/agencies"):
        operation = document["paths"][path]["get"]
        assert "security" not in operation
        assert {"200", "304", "400", "404"} <= set(operation["responses"])
        assert "ETag" in operation["responses"]["200"]["headers"]
        assert any(p["name"] == "If-None-Match" for p in operation["parameters"])
