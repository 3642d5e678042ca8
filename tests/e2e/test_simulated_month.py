"""A small simulated month (infra/simulate.py, what `make simulate` runs bigger) through the real API: the report of
each agency equals the simulator's own recount, and a rebuild from the dossiers finds no difference (issue 12).

The month is last month, in simulated time: no other test files anything then, so those figures are the simulation's."""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta

from chalicelib.domain.calendar import VN_TZ, month_of
from infra.simulate import compare, simulate_month
from tests.support import Api, commune, wait_for

AGENCIES = [commune(8), commune(9), commune(14)]


def test_a_simulated_month_reports_what_happened(api: Api, admin_token: str) -> None:
    from chalicelib.bootstrap import container
    from chalicelib.integrations.gateway_config import local_configs

    vnpay, _ = local_configs(os.environ)
    month = (datetime.now(VN_TZ).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    sim = simulate_month(api, container(), AGENCIES, month, days=4, per_day=6, seed=7,
                         hash_secret=vnpay.hash_secret, tmn_code=vnpay.tmn_code)
    assert sum(sim.log.filed.values()) == 24
    assert sum(sim.log.payments.values()) > 0 and sum(sim.log.finished.values()) > 0
    period = month_of(datetime.combine(month, time(12), tzinfo=VN_TZ))
    problems = wait_for(lambda: compare(api, admin_token, AGENCIES, period, sim.log), lambda p: not p, 15.0, 1.0)
    assert problems == []
    late = sum(n for (_, on_time, _), n in sim.log.finished.items() if not on_time)
    assert late > 0  # the mix has late dossiers
    rebuilt = api.call("POST", "/v1/admin/counters/rebuild", {"period": period, "compare": AGENCIES},
                       token=admin_token).body
    assert rebuilt["differences"] == [] and rebuilt["dossiers"] >= 24
