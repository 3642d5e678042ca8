"""Shared fixtures: the local stack (DynamoDB Local + moto's server + the API + event sources), once per session,
and the recorder of every AWS call each function makes (checked against the deployed policy at the end)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack, StackConfig
from tests.policy.recorder import CallRecorder
from tests.support import Api

# The counters consumer's embedded metrics are log lines on stdout: in a test run, from the pollers' threads, they
# would land between the tests' output. `tests/unit/test_live_metrics.py` turns them on for itself.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
# No X-Ray daemon here; Powertools would turn tracing off outside Lambda anyway, this says so explicitly.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The checks over what every flow left go last: the counter rebuild (`after_flows`), then the policy-coverage
    check, after every test whose calls it checks (without any test using the stack in this run it has nothing to
    check, so it is skipped rather than failed)."""
    coverage = [item for item in items if item.get_closest_marker("policy_coverage")]
    after_flows = [item for item in items if item.get_closest_marker("after_flows")]
    others = [item for item in items if not item.get_closest_marker("policy_coverage")
              and not item.get_closest_marker("after_flows")]
    if coverage and not any("stack" in item.fixturenames for item in others):
        for item in coverage:
            item.add_marker(pytest.mark.skip(reason="no test in this run uses the local stack: no calls to check"))
    items[:] = others + after_flows + coverage


@pytest.fixture(scope="session")
def aws_calls() -> Iterator[CallRecorder]:
    with CallRecorder().installed() as recorder:
        yield recorder


@pytest.fixture(scope="session")
def stack(aws_calls: CallRecorder) -> Iterator[LocalStack]:
    local = LocalStack(StackConfig.for_tests()).start()  # after the recorder: the pollers' calls are recorded too
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
