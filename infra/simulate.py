"""`make simulate MONTHS=1`: a realistic month of a province driven through the real API on the local stack, then its
report checked against a recount the simulator makes from its own log (issue 12, point 9).

The simulated clock is the container's (`Container.now`), so every instant the app records is simulated time: the
month's working days, office hours, dossiers finished on time or days late. The mix: channels (online from anywhere,
online at a desk, paper at a desk), procedures with and without fees, supplement requests, fees asked by officers
and paid at the desk or online, and VNPay callbacks duplicated, failed then paid, paid then a stale failure, or
delivered concurrently. The recount counts what the simulator meant to happen, by agency, independently of the
counters (it does not read them, and it never calls the app's counting code).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import urllib.parse
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.domain.calendar import VN_TZ, WorkingCalendar
from tests import vnpay_reference
from tests.support import Api, submission

PROCEDURES = {  # commune procedures of the seed: code → (online form, fees at filing online?, fee VND)
    "1.001193": ("full", 0), "1.004873": ("full", 5000), "2.000635": ("full", 8000), "1.000894": ("partial", 0),
    "1.004859": ("partial", 15000), "2.000815": ("partial", 3000),
}
CHANNELS = (("online", 0.55), ("online_assisted", 0.15), ("direct", 0.30))
LATE_SHARE = 0.12
SUPPLEMENT_SHARE = 0.15
CALLBACK_SCENARIOS = ("once", "duplicated", "failed_then_paid", "paid_then_stale_failure", "concurrent")


@dataclass
class Recount:
    """What the simulator did, per agency: the figures the report must show."""

    filed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (agency, channel)
    payments: Counter[tuple[str, str]] = field(default_factory=Counter)  # (agency, online | desk)
    paid_online_dossiers: Counter[str] = field(default_factory=Counter)
    finished: Counter[tuple[str, bool, str]] = field(default_factory=Counter)  # (agency, on time, month)

    def expected(self, agency: str, period: str) -> dict[str, int]:
        return {
            "filed_online": self.filed[(agency, "online")], "filed_assisted": self.filed[(agency, "online_assisted")],
            "filed_direct": self.filed[(agency, "direct")],
            "transactions": self.payments[(agency, "online")] + self.payments[(agency, "desk")],
            "transactions_online": self.payments[(agency, "online")],
            "dossiers_paid_online": self.paid_online_dossiers[agency],
            "finished_on_time": self.finished[(agency, True, period)],
            "finished_late": self.finished[(agency, False, period)],
        }


def reported(report: dict[str, Any]) -> dict[str, int]:
    """The same figures, as the report shows them."""
    return {
        "filed_online": report["filed"]["by_channel"]["online"],
        "filed_assisted": report["filed"]["by_channel"]["online_assisted"],
        "filed_direct": report["filed"]["by_channel"]["direct"],
        "transactions": report["payments"]["transactions"],
        "transactions_online": report["payments"]["transactions_online"],
        "dossiers_paid_online": report["payments"]["dossiers_paid_online"],
        "finished_on_time": report["lifecycle"]["finished_on_time"],
        "finished_late": report["lifecycle"]["finished_late"],
    }


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at


@dataclass
class Simulation:
    api: Api
    agencies: list[str]
    month: date  # its first day
    days: int
    per_day: int
    seed: int = 46
    log: Recount = field(default_factory=Recount)
    at: datetime = field(default_factory=lambda: datetime.now(VN_TZ))  # the simulated instant, Vietnam time
    _queue: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    _order: Any = field(default_factory=itertools.count)

    def sign_in(self) -> None:
        """Tokens for the simulated people, minted on the real clock (their lifetime is checked against it)."""
        self.citizen = self.api.token("citizen", sub="simulated-citizen")
        self.officers = {agency: self.api.token("officer", sub=f"sim-officer-{agency}", agency=agency)
                         for agency in self.agencies}

    def run(self, set_clock: Callable[[datetime], None], hash_secret: str, tmn_code: str) -> None:
        """Every step in simulated time order; `set_clock` moves the app's clock to each step's instant."""
        rng = random.Random(self.seed)
        self.secret, self.tmn = hash_secret, tmn_code
        calendar = WorkingCalendar()
        day = self.month
        for _ in range(self.days):
            while not calendar.is_working_day(day):
                day += timedelta(days=1)
            for n in range(self.per_day):
                at = datetime.combine(day, time(8, 0), tzinfo=VN_TZ) + timedelta(minutes=17 * n + rng.randint(0, 9))
                self._at(at, self._filing(rng, rng.choice(self.agencies)))
            day += timedelta(days=1)
        while self._queue:
            at, _, step = heapq.heappop(self._queue)
            self.at = at
            set_clock(at.astimezone(UTC))
            step()

    # --- scheduling -------------------------------------------------------------------------------------------------

    def _at(self, at: datetime, step: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at, next(self._order), step))

    def _call(self, method: str, path: str, body: Any, token: str) -> dict[str, Any]:
        reply = self.api.call(method, path, body, token=token)
        assert reply.status in (200, 201), (method, path, reply.status, reply.body)
        return dict(reply.body)

    def _act(self, dossier_id: str, action: str, token: str, **params: Any) -> dict[str, Any]:
        current = self._call("GET", f"/v1/dossiers/{dossier_id}", None, token)
        return self._call("POST", f"/v1/dossiers/{dossier_id}/actions/{action}",
                          {"expected_version": current["version"], **params}, token)

    # --- one dossier's life ----------------------------------------------------------------------------------------

    def _filing(self, rng: random.Random, agency: str) -> Callable[[], None]:
        procedure = rng.choice(sorted(PROCEDURES))
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        late, supplement = rng.random() < LATE_SHARE, rng.random() < SUPPLEMENT_SHARE
        scenario = rng.choice(CALLBACK_SCENARIOS)
        desk_pays = rng.random() < 0.5

        def step() -> None:
            dossier = self._call("POST", "/v1/dossiers", submission(procedure, agency, channel=channel), self.citizen)
            self.log.filed[(agency, channel)] += 1
            officer, start = self.officers[agency], _vn(dossier["submitted_at"])
            if dossier["fees_due"]:  # a full-online procedure filed online: paid with the application
                self._pay_online(dossier["id"], agency, scenario, start + timedelta(minutes=2))
            later = start + timedelta(minutes=5)
            if dossier["status"] == "registered":
                self._at(later, lambda: self._receive(dossier["id"], officer))
            self._at(later + timedelta(minutes=1), lambda: self._process(dossier["id"], agency, procedure, late,
                                                                       supplement, desk_pays, scenario))
        return step

    def _receive(self, dossier_id: str, officer: str) -> None:
        self._act(dossier_id, "receive", officer)

    def _process(self, dossier_id: str, agency: str, procedure: str, late: bool, supplement: bool, desk_pays: bool,
                 scenario: str) -> None:
        officer = self.officers[agency]
        dossier = self._act(dossier_id, "start-processing", officer)
        at = _vn(dossier["due_at"] if late else dossier["received_at"])
        if supplement:
            self._act(dossier_id, "request-supplement", officer, missing="Bản sao giấy tờ tùy thân")
            self._act(dossier_id, "resubmit-supplement", self.citizen)
        fee = PROCEDURES[procedure][1]
        if fee and dossier["fees_due"] == 0 and dossier["paid_total"] == 0:  # not charged at filing: the officer asks
            self._act(dossier_id, "request-fees", officer, amount=fee, reason="Lệ phí")
            if desk_pays:
                self._call("POST", f"/v1/dossiers/{dossier_id}/payments/desk",
                           {"amount": fee, "method": "cash", "receipt_number": f"S{dossier_id[-8:]}"}, officer)
                self.log.payments[(agency, "desk")] += 1
            else:
                self._pay_now(dossier_id, agency, scenario)
        # on time: within the hour of receipt (every procedure here has at least the rest of its day);
        # late: three days after the due time, far from any boundary
        finish = at + (timedelta(days=3) if late else timedelta(minutes=50))
        self._at(finish, lambda: self._finish(dossier_id, agency, late))

    def _finish(self, dossier_id: str, agency: str, late: bool) -> None:
        officer = self.officers[agency]
        current = self._call("GET", f"/v1/dossiers/{dossier_id}", None, officer)
        if current["status"] == "awaiting_fees":  # an online payment still in flight: finish once it settles
            return
        self._act(dossier_id, "approve", officer)
        self._act(dossier_id, "mark-result-ready", officer, result_reference=f"KQ-{dossier_id[-6:]}")
        self.log.finished[(agency, not late, f"{self.at:%Y-%m}")] += 1  # Vietnam time: the counters' month

    # --- paying online, with VNPay's callbacks as they really arrive -----------------------------------------------

    def _pay_online(self, dossier_id: str, agency: str, scenario: str, at: datetime) -> None:
        self._at(at, lambda: self._pay_now(dossier_id, agency, scenario))

    def _pay_now(self, dossier_id: str, agency: str, scenario: str) -> None:
        payment = self._call("POST", f"/v1/dossiers/{dossier_id}/payments", {"gateway": "vnpay"}, self.citizen)
        paid = self._ipn(payment, "00", "00")
        failed = self._ipn(payment, "24", "02")
        if scenario == "once":
            self._deliver([paid])
        elif scenario == "duplicated":
            self._deliver([paid, paid, paid])
        elif scenario == "failed_then_paid":
            self._deliver([failed, paid])
        elif scenario == "paid_then_stale_failure":
            self._deliver([paid, failed])  # the failure arrives late: a success is never downgraded
        else:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda q: self._deliver([q]), [paid] * 4))
        self.log.payments[(agency, "online")] += 1
        self.log.paid_online_dossiers[agency] += 1  # one online payment per dossier here: each is its first

    def _ipn(self, payment: dict[str, Any], response: str, status: str) -> str:
        params = {"vnp_Amount": str(payment["amount"] * 100), "vnp_BankCode": "NCB", "vnp_CardType": "ATM",
                  "vnp_OrderInfo": "Thanh toan", "vnp_PayDate": "20261001101500", "vnp_ResponseCode": response,
                  "vnp_TmnCode": self.tmn, "vnp_TransactionNo": "14000001", "vnp_TransactionStatus": status,
                  "vnp_TxnRef": payment["txn_ref"]}
        return urllib.parse.urlencode(vnpay_reference.signed(params, self.secret))

    def _deliver(self, queries: list[str]) -> None:
        for query in queries:
            reply = self.api.call("GET", f"/v1/payments/vnpay/ipn?{query}")
            assert reply.body["RspCode"] in ("00", "02"), reply.body


def _vn(instant: str) -> datetime:
    return datetime.fromisoformat(instant).astimezone(VN_TZ)


def simulate_month(api: Api, app_container: Any, agencies: list[str], month: date, *, days: int, per_day: int,
                   seed: int, hash_secret: str, tmn_code: str) -> Simulation:
    """Run one month's simulation with the app's clock on simulated time, and give the real clock back after."""
    sim = Simulation(api, agencies, month, days=days, per_day=per_day, seed=seed)
    clock = SimClock(datetime.combine(month, time(1, 0), tzinfo=UTC))
    sim.sign_in()
    real_now = app_container.now
    app_container.now = clock.now
    try:
        sim.run(lambda at: setattr(clock, "at", at), hash_secret, tmn_code)
    finally:
        app_container.now = real_now
    return sim


def compare(api: Api, admin: str, agencies: list[str], period: str, log: Recount,
            rollups: dict[str, list[str]] | None = None) -> list[str]:
    """Every figure of every agency where the report and the recount differ (empty: they agree). `rollups` names
    parents whose figures must be the sum of the listed agencies' (a province whose only dossiers are these)."""
    expected = {agency: log.expected(agency, period) for agency in agencies}
    for parent, children in (rollups or {}).items():
        expected[parent] = {name: sum(expected[child][name] for child in children) for name in expected[children[0]]}
    problems = []
    for agency, want in expected.items():
        reply = api.call("GET", f"/v1/reports/kpi?period={period}&agency={agency}", token=admin)
        assert reply.status == 200, reply.body
        got = reported(reply.body)
        problems += [f"{agency} {name}: report {got[name]}, recount {want[name]}" for name in want
                     if got[name] != want[name]]
    return problems


def main() -> None:
    import os
    import time as wall

    from bench.measure import quiet, warnings_only
    from chalicelib.bootstrap import container
    from chalicelib.domain.calendar import month_of
    from chalicelib.integrations.gateway_config import local_configs
    from infra.local.processes import ROOT
    from infra.local.stack import LocalStack, StackConfig
    from infra.seed import agencies

    parser = argparse.ArgumentParser(description="Simulate months of a province through the API, then check the report.")
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--per-day", type=int, default=12)
    args = parser.parse_args()
    out_dir = ROOT / ".local" / "reports"
    with quiet(ROOT / ".local" / "logs" / "simulate.log") as terminal:
        stack = LocalStack(StackConfig.for_tests()).start()
        warnings_only()
        problems_seen = 0
        try:
            api = Api(stack.api_url)
            admin = api.token("admin")
            communes = [a.code for a in agencies(stack.config.province_code) if a.kind == "commune"][:8]
            vnpay, _ = local_configs(os.environ)
            first = (datetime.now(VN_TZ).date().replace(day=1) - timedelta(days=1)).replace(day=1)  # last month
            for m in range(args.months):
                month = (first.replace(day=28) + timedelta(days=4 + 31 * m)).replace(day=1) if m else first
                started = wall.perf_counter()
                sim = simulate_month(api, container(), communes, month, days=21, per_day=args.per_day, seed=46 + m,
                                     hash_secret=vnpay.hash_secret, tmn_code=vnpay.tmn_code)
                period = month_of(datetime.combine(month, time(12), tzinfo=VN_TZ))
                root = f"H{stack.config.province_code:02d}"
                simulated_s = wall.perf_counter() - started
                problems, settled_s = wait_for_equal(api, admin, communes, period, sim.log, {root: communes})
                problems_seen += len(problems)
                print(f"{period}: {sum(sim.log.filed.values())} dossiers at {len(communes)} communes, simulated in "
                      f"{simulated_s:.0f} s, counted {settled_s:.0f} s later; report vs recount: "
                      f"{'equal for every commune and the province' if not problems else f'{len(problems)} differences'}",
                      file=terminal)
                for problem in problems[:20]:
                    print("  ", problem, file=terminal)
                if problems:  # where the missing events are: still queued, in flight, or dead-lettered
                    print(f"   queues (visible/in flight): {queue_depths(stack)}", file=terminal)
                rebuilt = api.call("POST", "/v1/admin/counters/rebuild", {"period": period}, token=admin).body
                problems_seen += len(rebuilt["differences"])
                print(f"   rebuild from the dossiers' events: {rebuilt['dossiers']} dossiers, {rebuilt['events']} events, "
                      f"{rebuilt['counters_compared']} counters of {rebuilt['agencies']} agencies compared, "
                      f"{len(rebuilt['differences'])} differences", file=terminal)
                report = api.call("GET", f"/v1/reports/kpi?period={period}&agency={root}&tier=commune",
                                  token=admin).body
                for row in report["ranking"]["agencies"][:len(communes)]:
                    online, paid = row["figures"]["online_share"], row["figures"]["dossiers_paid_online_share"]
                    print(f"   #{online['rank']} {row['agency']['code']} {row['agency']['name']}: online "
                          f"{online['percent']}% ({online['numerator']}/{online['denominator']}), paid online "
                          f"{paid['percent']}%", file=terminal)
                out_dir.mkdir(parents=True, exist_ok=True)
                workbook = api.raw("GET", f"/v1/reports/kpi?period={period}&agency={root}&format=xlsx", admin,
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                (out_dir / f"province-{period}.xlsx").write_bytes(workbook)
                print(f"   the province's workbook: {(out_dir / f'province-{period}.xlsx').relative_to(ROOT)}",
                      file=terminal)
            year = period[:4]
            timings = []
            for _ in range(5):
                started = wall.perf_counter()
                assert api.call("GET", f"/v1/reports/kpi?period={year}&agency={root}&tier=commune",
                                token=admin).status == 200
                timings.append(wall.perf_counter() - started)
            agencies_read = len(report["ranking"]["agencies"])
            print(f"province-year report ({year}, {agencies_read} communes ranked, 12 months): median "
                  f"{sorted(timings)[2] * 1000:.0f} ms over 5 requests over HTTP", file=terminal)
        finally:
            stack.stop()
    raise SystemExit(1 if problems_seen else 0)


def queue_depths(stack: Any) -> str:
    sqs, resources = stack.client("sqs"), stack.resources
    out = []
    for name, urls in (("", resources.queue_urls), ("dlq ", resources.dlq_urls)):
        for logical, url in urls.items():
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            visible, flight = found["ApproximateNumberOfMessages"], found["ApproximateNumberOfMessagesNotVisible"]
            if visible != "0" or flight != "0":
                out.append(f"{name}{logical} {visible}/{flight}")
    return ", ".join(out) or "all empty"


SETTLE_S = 180  # how long the pipeline may take to count the month's last events (a loaded machine lags behind)


def wait_for_equal(api: Api, admin: str, agencies: list[str], period: str, log: Recount,
                   rollups: dict[str, list[str]]) -> tuple[list[str], float]:
    """The differences once the pipeline has counted the last events (or after `SETTLE_S`, whatever remains), and
    the seconds it took."""
    import time as wall

    started = wall.monotonic()
    while True:
        problems = compare(api, admin, agencies, period, log, rollups)
        if not problems or wall.monotonic() > started + SETTLE_S:
            return problems, wall.monotonic() - started
        wall.sleep(1)


if __name__ == "__main__":
    main()
