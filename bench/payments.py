"""`make bench`'s payment figures: VNPay's IPN over HTTP on the local stack, its latency and its DynamoDB requests,
for a first delivery (the payment is settled) and for a duplicate (answered "already confirmed").

Each sample is its own dossier and payment, made beforehand and not timed; the IPNs are signed by the independent
implementation of VNPay's documented algorithm the tests use (`tests/vnpay_reference.py`).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from bench.measure import RequestCounter, Table

IPNS = 150  # first deliveries, and as many duplicates: enough for a p95
PROCEDURE = "2.000635"  # full online, 8,000 VND: charged at filing


def ipn_figures(api: Any, communes: list[str], requests: RequestCounter, table: Table) -> None:
    import os

    from chalicelib.integrations.gateway_config import local_configs
    from tests import vnpay_reference
    from tests.support import submission

    vnpay, _ = local_configs(os.environ)
    secret = vnpay.hash_secret
    citizen = api.token("citizen", sub="bench-payer")

    def prepared(n: int) -> list[str]:
        """`n` dossiers with a pending VNPay payment each: their query strings of a successful IPN."""
        out = []
        for i in range(n):
            dossier = api.call("POST", "/v1/dossiers", submission(PROCEDURE, communes[i % len(communes)]),
                               token=citizen).body
            reply = api.call("POST", f"/v1/dossiers/{dossier['id']}/payments", {"gateway": "vnpay"}, token=citizen)
            assert reply.status == 201, reply.body
            payment = reply.body
            params = {"vnp_Amount": str(payment["amount"] * 100), "vnp_BankCode": "NCB", "vnp_CardType": "ATM",
                      "vnp_OrderInfo": "Thanh toan", "vnp_PayDate": "20261126101500", "vnp_ResponseCode": "00",
                      "vnp_TmnCode": vnpay.tmn_code, "vnp_TransactionNo": str(14000000 + i),
                      "vnp_TransactionStatus": "00", "vnp_TxnRef": payment["txn_ref"]}
            out.append(urllib.parse.urlencode(vnpay_reference.signed(params, secret)))
        return out

    def deliver(query: str, expected: str) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            reply = api.call("GET", f"/v1/payments/vnpay/ipn?{query}")
            elapsed = (time.perf_counter() - start) * 1000
            code = reply.body["RspCode"]
            table.check(code == expected, "", f"an IPN answered {code}, not {expected}")
            return elapsed
        return run

    queries = prepared(IPNS)
    for query in prepared(20):  # warm-up: the IPN path's first calls (validators, the gateway's config)
        deliver(query, "00")()
    requests.take()
    first = [deliver(query, "00")() for query in queries]
    first_calls = requests.take()
    duplicate = [deliver(query, "02")() for query in queries]
    duplicate_calls = requests.take()

    table.latency("VNPay IPN over HTTP, first delivery (settles)", first)
    table.latency("VNPay IPN over HTTP, a duplicate (answers 02)", duplicate)
    for label, calls in (("DynamoDB requests per IPN, first delivery", first_calls),
                         ("  … per duplicate", duplicate_calls)):
        per = {op: count / IPNS for op, count in calls.items()}
        table.figure(label, sum(per.values()), "  ".join(f"{op} {v:.2f}" for op, v in per.items()) + f"   (n={IPNS})")
