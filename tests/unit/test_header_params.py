"""Headers are parameters like any other: declared as `Param`s, checked by the boundary, published in the OpenAPI.

Regression tests for the Idempotency-Key that escaped the policy (a bare string in the OpenAPI, a check in the
view with a Vietnamese-only message) and for the If-None-Match of cacheable routes, declared once beside it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.handlers import boundary
from chalicelib.handlers.http import IF_NONE_MATCH
from chalicelib.handlers.openapi import build_openapi, route_docs
from chalicelib.handlers.params import IDEMPOTENCY_KEY


def submit(headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A submission refused (or not) by the boundary alone: the body is never read when a header is refused."""
    with Client(app) as client:
        reply = client.http.post("/v1/dossiers", body=b"{}", headers={"content-type": "application/json", **headers})
    return reply.status_code, json.loads(reply.body)


@pytest.mark.parametrize(
    "key",
    ["", "a b", "x" * 129, "khóa", "tab\there", "\x7f", "é"],
    ids=["empty", "space", "129-chars", "non-ascii", "tab", "del", "accented"],
)
@pytest.mark.parametrize("spelling", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
def test_a_bad_idempotency_key_is_refused_at_the_boundary_in_two_languages(key: str, spelling: str) -> None:
    status, body = submit({spelling: key})
    assert status == 400
    assert body["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"
    message = body["error"]["message"]
    assert message.startswith("Tham số Idempotency-Key không hợp lệ") and "(Invalid header parameter Idempotency-Key.)" in message
    assert len(message) < 300  # a long key is not echoed back


@pytest.mark.parametrize("key", ["a", "abc-1", "x" * 128, "!~{}[]:;/=+", "550e8400-e29b-41d4-a716-446655440000"])
def test_a_good_idempotency_key_reaches_the_view_as_sent(key: str) -> None:
    assert boundary._check((IDEMPOTENCY_KEY,), {"Idempotency-Key": key}, "header") == {"Idempotency-Key": key}


def test_an_absent_idempotency_key_is_no_key() -> None:
    assert boundary._check((IDEMPOTENCY_KEY,), {}, "header") == {}


def test_an_oversized_if_none_match_is_refused_and_a_short_one_reaches_the_view() -> None:
    with Client(app) as client:
        long = client.http.get("/v1/agencies", headers={"if-none-match": '"' + "a" * 3000 + '"'})
    assert (long.status_code, json.loads(long.body)["error"]["code"]) == (400, "HEADER_INVALID")


def test_the_openapi_publishes_each_header_with_its_schema() -> None:
    document = build_openapi(app.routes, version="test")
    submit_params = document["paths"]["/v1/dossiers"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header", "required": False,
            "description": IDEMPOTENCY_KEY.description, "schema": IDEMPOTENCY_KEY.schema} in submit_params
    assert "400" in document["paths"]["/v1/dossiers"]["post"]["responses"]
    for path, method, doc in route_docs(app.routes):
        assert doc is not None
        names = [p["name"] for p in document["paths"][path][method.lower()].get("parameters", []) if p["in"] == "header"]
        assert names == [p.name for p in doc.header_params()]
        assert (IF_NONE_MATCH.name in names) is doc.cacheable
        if names:
            assert "400" in document["paths"][path][method.lower()]["responses"], f"{method} {path}"
