"""After every flow of the run: the counters rebuilt from the dossiers' recorded events equal the live counters, for
every agency of the province whose counters only real dossiers feed (issue 12, point 7).

Left out, by design, are the agencies whose counters tests feed with events of no dossier, which a rebuild from
dossiers cannot see: the province root (tests/integration/test_event_flow.py hands the counters function synthetic
events of agencies under it, TEST.*) and commune 29 (tests/integration/test_notifications.py publishes a burst of
copies of one submission's event)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.calendar import month_of
from chalicelib.topology import REBUILD_FUNCTION
from chalicelib.validation import validate
from tests.support import Api, commune, wait_for

pytestmark = pytest.mark.after_flows


def test_the_counters_equal_a_recount_from_the_dossiers(api: Api, admin_token: str) -> None:
    from infra.seed import agencies

    fed_without_dossiers = {commune(29)}
    compare = [a.code for a in agencies(46) if len(a.path) > 1 and a.code not in fed_without_dossiers]
    period = month_of(datetime.now(UTC))

    def rebuilt() -> dict[str, object]:
        reply = api.call("POST", "/v1/admin/counters/rebuild", {"period": period, "compare": compare},
                         token=admin_token)
        assert reply.status == 200, reply.body
        return dict(reply.body)

    # the pipeline may still be counting the last flows' events: a difference must go away, not be waited out forever
    report = wait_for(rebuilt, lambda r: not r["differences"], timeout_s=20.0, every_s=2.0)
    assert report["differences"] == [], report["differences"][:10]
    assert report["dossiers"] >= 1 and report["counters_compared"] >= 5, report  # it compared something


def test_the_rebuild_function_gives_the_routes_report_and_refuses_bad_input() -> None:
    """The rebuild's own Lambda (invoked directly, for periods longer than API Gateway waits): the same recount into
    the shadow table and the same comparison as the route; its calls are checked against its policy (tests/policy)."""
    from app import app
    from infra.seed import agencies
    from tests.policy.recorder import invoked_as

    compare = [a.code for a in agencies(46) if len(a.path) > 1 and a.code not in {commune(29)}]
    period = month_of(datetime.now(UTC))
    rebuild = app.handler_map[REBUILD_FUNCTION]
    with invoked_as(REBUILD_FUNCTION):
        report = rebuild({"period": period, "compare": compare}, None)
        refused = rebuild({"period": "2026-13"}, None)
    validate("rebuild-result.v1.json", report)
    assert report["differences"] == [] and report["counters_compared"] >= 5, report["differences"][:10]
    assert refused["error"]["code"] == "VALIDATION_FAILED", refused
