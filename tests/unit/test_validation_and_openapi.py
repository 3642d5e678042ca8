"""NFC normalising, JSON Schema validation and the schemas themselves, and the generated OpenAPI document."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from app import app
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import DossierSubmitted
from chalicelib.handlers.openapi import build_openapi, route_docs
from chalicelib.validation import SCHEMA_DIR, nfc, validate
from tests.samples import DOSSIER_ID, nth_event_id

SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.json"))

NFD_NAME = "Nguye\u0302\u0303n Va\u0306n A\u0301nh"  # "Nguyễn Văn Ánh" written with combining marks
NFC_NAME = "Nguyễn Văn Ánh"


# --- nfc -------------------------------------------------------------------------------------------------


def test_nfd_and_nfc_spellings_differ_before_normalising() -> None:
    assert NFD_NAME != NFC_NAME
    assert unicodedata.normalize("NFC", NFD_NAME) == NFC_NAME


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Nguye\u0302\u0303n", "Nguyễn"),
        (NFD_NAME, NFC_NAME),
        (NFC_NAME, NFC_NAME),
        ("", ""),
        ("plain ascii", "plain ascii"),
        (["Nguye\u0302\u0303n", ["Ha\u0300 No\u0323\u0302i"]], ["Nguyễn", ["Hà Nội"]]),
        ({"te\u0302n": "Nguye\u0302\u0303n"}, {"tên": "Nguyễn"}),
        (
            {"applicant": {"name": NFD_NAME, "tags": ["đi\u0323a chi\u0309", {"ghi chu\u0301": ["o\u031b"]}]}},
            {"applicant": {"name": NFC_NAME, "tags": ["địa chỉ", {"ghi chú": ["ơ"]}]}},
        ),
        ({"n": 1, "f": 1.5, "b": True, "z": None}, {"n": 1, "f": 1.5, "b": True, "z": None}),
        (42, 42),
        (None, None),
    ],
    ids=["word", "name", "already-nfc", "empty", "ascii", "nested-lists", "dict-key", "deep", "non-strings", "int", "none"],
)
def test_nfc(raw: Any, normalised: Any) -> None:
    result = nfc(raw)
    assert result == normalised
    assert json.dumps(result, ensure_ascii=False) == json.dumps(normalised, ensure_ascii=False)


def test_nfc_keys_that_collide_after_normalising_become_one() -> None:
    assert nfc({"Nguye\u0302\u0303n": 1, "Nguyễn": 2}) == {"Nguyễn": 2}


def test_nfc_leaves_its_input_unchanged() -> None:
    raw = {"te\u0302n": ["Nguye\u0302\u0303n"]}
    nfc(raw)
    assert raw == {"te\u0302n": ["Nguye\u0302\u0303n"]}


# --- validate --------------------------------------------------------------------------------------------


def good_submission() -> dict[str, Any]:
    return {
        "procedure_code": "1.001193",
        "agency_code": "T46.X01",
        "channel": "online",
        "applicant": {"kind": "citizen", "name": NFC_NAME, "national_id": "046123456789", "phone": "0912345678"},
        "documents": [{"type": "id_card", "name": "cccd.pdf"}],
        "result_delivery": "online",
    }


def problems_of(schema: str, instance: Any) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as caught:
        validate(schema, instance)
    assert caught.value.code == "VALIDATION_FAILED"
    problems: list[dict[str, str]] = caught.value.details["problems"]
    return problems


def test_a_good_submission_passes() -> None:
    validate("submit-dossier.v1.json", good_submission())


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b["applicant"].update(national_id="12345"), "$.applicant.national_id"),
        (lambda b: b["applicant"].update(phone="12345"), "$.applicant.phone"),
        (lambda b: b["applicant"].update(kind="alien"), "$.applicant.kind"),
        (lambda b: b["applicant"].update(email="not-an-email"), "$.applicant.email"),
        (lambda b: b["applicant"].pop("name"), "$.applicant"),
        (lambda b: b["documents"].append({"type": "BAD TYPE", "name": "x"}), "$.documents[1].type"),
        (lambda b: b["documents"][0].pop("name"), "$.documents[0]"),
        (lambda b: b.update(channel="fax"), "$.channel"),
        (lambda b: b.update(procedure_code="1001193"), "$.procedure_code"),
        (lambda b: b.pop("result_delivery"), "$"),
        (lambda b: b.update(extra=1), "$"),
    ],
    ids=[
        "national-id", "phone", "kind", "email", "missing-name", "document-type", "document-name", "channel",
        "procedure-code", "missing-top-level", "extra-property",
    ],
)
def test_validate_names_the_json_path_of_the_problem(change: Any, path: str) -> None:
    body = good_submission()
    change(body)
    problems = problems_of("submit-dossier.v1.json", body)
    assert [problem["path"] for problem in problems] == [path]
    assert problems[0]["problem"]


def test_validate_lists_every_problem_sorted_by_path() -> None:
    body = good_submission()
    body["applicant"]["national_id"] = "x"
    body["applicant"]["phone"] = "y"
    body["channel"] = "fax"
    paths = [problem["path"] for problem in problems_of("submit-dossier.v1.json", body)]
    assert paths == ["$.applicant.national_id", "$.applicant.phone", "$.channel"]


def test_validate_reports_at_most_twenty_problems() -> None:
    body = good_submission()
    body["documents"] = [{"type": "BAD", "name": ""} for _ in range(30)]
    problems = problems_of("submit-dossier.v1.json", body)
    assert len(problems) == 20


def test_validate_message_names_the_first_problem() -> None:
    body = good_submission()
    body["applicant"]["national_id"] = "x"
    with pytest.raises(ValidationError) as caught:
        validate("submit-dossier.v1.json", body)
    assert "$.applicant.national_id" in caught.value.message


def test_a_dossier_submitted_detail_passes_its_schema() -> None:
    event = DossierSubmitted(
        event_id=nth_event_id(1), occurred_at=datetime(2026, 11, 2, 3, tzinfo=UTC), dossier_id=DOSSIER_ID,
        dossier_code="T46.X01-261102-0001", procedure_code="1.001193", agency_code="T46.X01",
        agency_path=("T46", "T46.X01"), agency_level="commune", channel="online", online_form="full",
        applicant_kind="citizen", status="registered", status_code=1, fees_total=0,
    )
    validate(DossierSubmitted.schema, event.detail())


def test_a_reference_to_another_schema_is_followed() -> None:
    problems = problems_of("dossier-page.v1.json", {"items": [{"id": 1}], "next_cursor": None})
    assert problems
    assert all(problem["path"].startswith("$.items[0]") for problem in problems)


# --- the schemas themselves ------------------------------------------------------------------------------


def test_there_are_schemas() -> None:
    assert len(SCHEMA_FILES) >= 10


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_each_schema_is_valid_draft_2020_12_named_by_its_id(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == path.name


# --- OpenAPI ---------------------------------------------------------------------------------------------

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi(app.routes, version="x")


def registered() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods}


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item if method in METHODS}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {token} under a non-object"
        assert token in node, f"{ref}: no {token}"
        node = node[token]
    return node


def test_the_app_registers_routes() -> None:
    assert ("/v1/dossiers", "post") in registered()
    assert ("/v1/health", "get") in registered()


def test_every_registered_route_is_documented(document: dict[str, Any]) -> None:
    assert documented(document) == registered()


def test_every_route_has_a_route_doc() -> None:
    docs = route_docs(app.routes)
    assert {(path, method.lower()) for path, method, _ in docs} == registered()
    assert [(path, method) for path, method, doc in docs if doc is None] == []


def test_the_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == "x"
    assert document["components"]["schemas"]


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    found = list(refs(document))
    assert found
    for ref in found:
        target = resolve(document, ref)
        assert isinstance(target, dict)
        assert target, f"{ref} resolves to an empty schema"


def test_every_schema_a_route_names_exists() -> None:
    names = {
        name
        for _, _, doc in route_docs(app.routes)
        if doc is not None
        for name in (doc.request_schema, doc.response_schema)
        if name
    }
    assert names
    for name in names:
        assert (SCHEMA_DIR / name).is_file(), name


def test_request_bodies_are_the_named_schemas(document: dict[str, Any]) -> None:
    for path, method, doc in route_docs(app.routes):
        assert doc is not None
        operation = document["paths"][path][method.lower()]
        if doc.request_schema:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{doc.request_schema.removesuffix('.json')}"}
            assert (SCHEMA_DIR / doc.request_schema).is_file()
        else:
            assert "requestBody" not in operation


def test_path_parameters_are_declared(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        for operation in item.values():
            declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            assert declared == names, path


def test_error_responses_use_the_error_schema(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/error.v1"}
