"""Shared fixtures: the local stack (DynamoDB Local + moto's server + the API + event sources), once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack, StackConfig
from tests.support import Api


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(StackConfig.for_tests()).start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    return Api(stack.api_url)


@pytest.fixture(scope="session")
def admin_token(api: Api) -> str:
    return api.token("admin", sub="admin-1")
