"""A bounded schemathesis run over the API's own OpenAPI document, with an officer's and a citizen's token:
no server error, and every response within the documented statuses, media type and schemas (issue 6)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from chalicelib.handlers.api_system import API_VERSION
from chalicelib.handlers.openapi import build_openapi
from tests.support import Api, commune

SCHEMA = schemathesis.openapi.from_dict(build_openapi(app.routes, version=API_VERSION))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 30  # × 2 roles × every operation: about a minute on 2 cores


@pytest.fixture(scope="module")
def tokens(api: Api) -> dict[str, str]:
    return {
        "officer": api.token("officer", sub="fuzz-officer", agency=commune(21)),  # a commune no other test counts in
        "citizen": api.token("citizen", sub="fuzz-citizen"),
    }


@pytest.mark.parametrize("role", ["officer", "citizen"])
@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_the_api_answers_within_its_contract(case: schemathesis.Case, role: str, api: Api,
                                             tokens: dict[str, str]) -> None:
    case.call_and_validate(base_url=api.base_url, headers={"Authorization": f"Bearer {tokens[role]}"}, checks=CHECKS)
