"""Payments over real HTTP on the local stack: a dossier's fees, VNPay's IPN signed by an independent implementation
of VNPay's documented algorithm (tests/vnpay_reference.py), its reply codes, exactly-once under a 50-way concurrent
replay, desk payments, and the payment figures in the report (through stream → bus → queue → counters).

Reply codes are VNPay 2.1.0's IPN contract (https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html, "Code
IPN URL"; ../shared/DOMAIN.md "Payments"): 00 confirmed, 01 order not found, 02 already confirmed, 04 invalid
amount, 97 invalid signature, 99 unknown error.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.calendar import month_of
from chalicelib.integrations.gateway_config import LOCAL_DEFAULTS
from tests import vnpay_reference
from tests.support import Api, commune, submission, wait_for

PROCEDURE = "2.000635"  # Cấp bản sao trích lục hộ tịch: full online, 8,000 VND (seed), results by post allowed
FEE = 8000


def _config(name: str) -> str:
    return os.environ.get(name) or LOCAL_DEFAULTS[name]


def ipn_params(txn_ref: str, amount_vnd: int, *, response: str = "00", status: str = "00",
               transaction_no: str = "14226112") -> dict[str, str]:
    """An IPN as VNPay sends it (the parameters of the documentation's example), signed with the local secret."""
    params = {
        "vnp_Amount": str(amount_vnd * 100), "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14226112",
        "vnp_CardType": "ATM", "vnp_OrderInfo": "Thanh toan phi le phi ho so", "vnp_PayDate": "20261126101500",
        "vnp_ResponseCode": response, "vnp_TmnCode": _config("VNPAY_TMN_CODE"), "vnp_TransactionNo": transaction_no,
        "vnp_TransactionStatus": status, "vnp_TxnRef": txn_ref,
    }
    return vnpay_reference.signed(params, _config("VNPAY_HASH_SECRET"))


def ipn(api: Api, params: dict[str, str]) -> dict[str, Any]:
    reply = api.call("GET", "/v1/payments/vnpay/ipn?" + urllib.parse.urlencode(params))
    assert reply.status == 200, reply  # VNPay reads RspCode, never an HTTP error
    return dict(reply.body)


def filed(api: Api, agency: str, owner: str) -> tuple[str, dict[str, Any]]:
    token = api.token("citizen", sub=owner)
    reply = api.call("POST", "/v1/dossiers", submission(PROCEDURE, agency), token=token)
    assert reply.status == 201, reply.body
    return token, reply.body


def pay(api: Api, dossier_id: str, token: str, gateway: str = "vnpay") -> Any:
    return api.call("POST", f"/v1/dossiers/{dossier_id}/payments", {"gateway": gateway}, token=token)


def test_a_dossier_is_paid_online_once_and_the_report_shows_it(api: Api, admin_token: str) -> None:
    agency = commune(22)
    token, dossier = filed(api, agency, "pay-owner-1")
    assert (dossier["fees_total"], dossier["fees_due"], dossier["paid_online_total"]) == (FEE, FEE, 0)

    created = pay(api, dossier["id"], token)
    assert created.status == 201, created.body
    payment = created.body
    assert (payment["amount"], payment["status"], payment["gateway"]) == (FEE, "pending", "vnpay")
    url = urllib.parse.urlsplit(payment["payment_url"])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["vnp_Amount"] == str(FEE * 100) and query["vnp_TxnRef"] == payment["txn_ref"]
    assert query["vnp_SecureHash"] == vnpay_reference.secure_hash(query, _config("VNPAY_HASH_SECRET"))
    again = pay(api, dossier["id"], token)
    assert (again.status, again.body["txn_ref"]) == (200, payment["txn_ref"])

    assert ipn(api, {**ipn_params(payment["txn_ref"], FEE), "vnp_Amount": "100"})["RspCode"] == "97"  # tampered
    assert ipn(api, ipn_params("f" * 32 + "P001", FEE))["RspCode"] == "01"
    assert ipn(api, ipn_params(payment["txn_ref"], FEE)) == {"RspCode": "00", "Message": "Confirm Success"}
    assert ipn(api, ipn_params(payment["txn_ref"], FEE))["RspCode"] == "02"

    now = api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token).body
    assert (now["paid_online_total"], now["paid_total"], now["fees_due"]) == (FEE, FEE, 0)
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert [p["status"] for p in listed["items"]] == ["succeeded"]
    assert listed["items"][0]["receipt_number"] and listed["items"][0]["payment_url"] is None

    period = month_of(datetime.fromisoformat(dossier["submitted_at"]))
    report = wait_for(lambda: api.kpi(agency, period, admin_token),
                      lambda r: r["payments"]["transactions"] >= 1, 8.0)["payments"]
    assert report["transactions_online"] == report["transactions"] == 1
    assert report["dossiers_paid_online"] == report["fee_bearing_dossiers"] == 1
    assert report["procedures_paid_online"] == 1
    assert report["dossiers_paid_online_share"]["percent"] == 100.0


def test_a_wrong_amount_is_refused_with_04_and_kept_for_an_officer(api: Api) -> None:
    token, dossier = filed(api, commune(23), "pay-owner-2")
    payment = pay(api, dossier["id"], token).body
    assert ipn(api, ipn_params(payment["txn_ref"], FEE - 1000))["RspCode"] == "04"
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert listed["items"][0]["status"] == "amount_mismatch" and listed["paid_online_total"] == 0
    officer = api.call("GET", f"/v1/dossiers/{dossier['id']}/history",
                       token=api.token("officer", agency=commune(23))).body
    assert officer["entries"][-1]["action"] == "payment-amount-mismatch"


def test_a_failed_payment_then_a_success_on_the_same_order(api: Api) -> None:
    token, dossier = filed(api, commune(23), "pay-owner-3")
    payment = pay(api, dossier["id"], token).body
    assert ipn(api, ipn_params(payment["txn_ref"], FEE, response="24", status="02"))["RspCode"] == "00"
    assert ipn(api, ipn_params(payment["txn_ref"], FEE))["RspCode"] == "00"
    assert api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token).body["paid_online_total"] == FEE


def test_fifty_concurrent_replays_record_one_payment_one_receipt_one_event(api: Api, admin_token: str) -> None:
    agency = commune(24)
    token, dossier = filed(api, agency, "pay-owner-4")
    payment = pay(api, dossier["id"], token).body
    params = ipn_params(payment["txn_ref"], FEE)
    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = Counter(pool.map(lambda _: ipn(api, params)["RspCode"], range(50)))
    assert codes["00"] == 1, codes
    assert codes["00"] + codes["02"] == 50, codes  # every duplicate answered "already confirmed"
    now = api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token).body
    assert now["paid_online_total"] == FEE
    history = api.call("GET", f"/v1/dossiers/{dossier['id']}/history", token=token).body["entries"]
    assert [e["action"] for e in history].count("payment-succeeded") == 1
    period = month_of(datetime.fromisoformat(dossier["submitted_at"]))
    report = wait_for(lambda: api.kpi(agency, period, admin_token),
                      lambda r: r["payments"]["transactions"] >= 1, 8.0)
    assert report["payments"]["transactions_online"] == 1  # one PaymentSucceeded reached the counters


def test_an_officer_records_a_desk_payment_and_the_report_counts_it_as_not_online(api: Api, admin_token: str) -> None:
    agency = commune(25)
    citizen = api.token("citizen", sub="desk-payer")
    officer = api.token("officer", sub="desk-officer", agency=agency)
    reply = api.call("POST", "/v1/dossiers", submission("2.000815", agency, channel="direct"), token=citizen)
    assert reply.status == 201, reply.body
    dossier = reply.body
    body = {"amount": 3000, "method": "cash", "receipt_number": "BL-0001"}
    path = f"/v1/dossiers/{dossier['id']}/payments/desk"
    assert api.call("POST", path, body, token=citizen).status == 403
    recorded = api.call("POST", path, body, token=officer)
    assert recorded.status == 201, recorded.body
    assert (recorded.body["gateway"], recorded.body["method"], recorded.body["status"]) == ("desk", "cash", "succeeded")
    assert api.call("POST", path, body, token=officer).body["error"]["code"] == "RECEIPT_ALREADY_RECORDED"
    period = month_of(datetime.now(UTC))
    report = wait_for(lambda: api.kpi(agency, period, admin_token), lambda r: r["payments"]["transactions"] >= 1, 8.0)
    assert (report["payments"]["transactions"], report["payments"]["transactions_online"]) == (1, 0)


def test_the_return_page_shows_the_outcome_in_vietnamese_and_changes_nothing(api: Api) -> None:
    token, dossier = filed(api, commune(26), "pay-owner-5")
    payment = pay(api, dossier["id"], token).body
    query = urllib.parse.urlencode(ipn_params(payment["txn_ref"], FEE))
    with urllib.request.urlopen(f"{api.base_url}/v1/payments/vnpay/return?{query}", timeout=10) as response:
        page = response.read().decode("utf-8")
        assert response.headers["Content-Type"].startswith("text/html")
    assert "Thanh toán thành công" in page
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert listed["items"][0]["status"] == "pending"  # only the IPN changes state


def test_hostile_ipns_get_vnpays_codes_never_a_500(api: Api) -> None:
    hostile = [
        "vnp_TxnRef=%ED%A0%80",  # a lone surrogate
        "vnp_Amount=" + "9" * 5000,
        "&".join(f"vnp_X{i}=1" for i in range(60)),
        "vnp_SecureHash=&vnp_TxnRef=x",
        "vnp_Amount=%D9%A1%D9%A0%D9%A0&vnp_SecureHash=00",  # Arabic-Indic digits
        "",
    ]
    for query in hostile:
        request = urllib.request.Request(f"{api.base_url}/v1/payments/vnpay/ipn?{query}")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["RspCode"] in ("97", "99"), query


# --- through the local gateway simulators (infra/local/payment_sandbox.py), as `make run` offers them ---------------


def follow(url: str) -> str:
    """The payer's browser: the gateway's page, then back to our return page."""
    with urllib.request.urlopen(url, timeout=20) as response:
        return str(response.read().decode("utf-8"))


def test_following_the_vnpay_url_on_the_sandbox_pays_the_dossier(api: Api) -> None:
    token, dossier = filed(api, commune(26), "pay-owner-6")
    payment = pay(api, dossier["id"], token).body
    page = follow(payment["payment_url"] + "&sandbox_repeat=3")  # the sandbox's IPN, delivered three times
    assert "Thanh toán thành công" in page
    now = api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token).body
    assert (now["paid_online_total"], now["fees_due"]) == (FEE, 0)
    history = api.call("GET", f"/v1/dossiers/{dossier['id']}/history", token=token).body["entries"]
    assert [e["action"] for e in history].count("payment-succeeded") == 1


def test_following_the_paygov_url_on_the_sandbox_pays_the_dossier(api: Api) -> None:
    token, dossier = filed(api, commune(26), "pay-owner-7")
    created = pay(api, dossier["id"], token, gateway="paygov")
    assert created.status == 201, created.body
    follow(created.body["payment_url"] + "&sandbox_repeat=2")
    now = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert [(p["gateway"], p["status"]) for p in now["items"]] == [("paygov", "succeeded")]
    assert now["paid_online_total"] == FEE


def test_a_payment_whose_ipn_never_came_is_settled_by_reconciliation(api: Api, admin_token: str) -> None:
    token, dossier = filed(api, commune(27), "pay-owner-8")
    payment = pay(api, dossier["id"], token).body
    follow(payment["payment_url"] + "&sandbox_skip_ipn=1")  # paid at VNPay; the IPN is lost
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert listed["items"][0]["status"] == "pending"
    path = "/v1/admin/payments/reconcile"
    assert api.call("POST", path, {}, token=token).status == 403
    done = api.call("POST", path, {"older_than_minutes": 0}, token=admin_token)
    assert done.status == 200, done.body
    assert done.body.get("confirmed", 0) >= 1, done.body
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert (listed["items"][0]["status"], listed["paid_online_total"]) == ("succeeded", FEE)
    api.call("POST", path, {"older_than_minutes": 0}, token=admin_token)  # settled: not paid twice
    assert api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token).body["paid_online_total"] == FEE


def test_the_scheduled_reconciliation_runs_as_its_own_function(api: Api) -> None:
    """Invoked as EventBridge's schedule invokes it; its AWS calls are checked against its policy at the end."""
    from app import app
    from chalicelib.topology import RECONCILE_PAYMENTS_SCHEDULE
    from chalicelib.validation import validate
    from tests.policy.recorder import invoked_as

    scheduled = {
        "version": "0", "id": "4e7a5c1e-0000-0000-0000-000000000001", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": "2026-11-26T00:15:00Z", "region": "ap-southeast-1",
        "resources": ["arn:aws:events:ap-southeast-1:111122223333:rule/dvc-cloud-dev-reconcile_payments-event"],
        "detail": {},
    }
    with invoked_as(RECONCILE_PAYMENTS_SCHEDULE.function):
        result = app.handler_map[RECONCILE_PAYMENTS_SCHEDULE.function](scheduled, None)
    validate("reconcile-result.v1.json", result)


# --- hostile input on the payment, report and admin routes this issue added -------------------------------------------


def test_hostile_bodies_on_the_payment_routes_are_4xx_and_store_nothing(api: Api, admin_token: str) -> None:
    token, dossier = filed(api, commune(25), "pay-hostile")
    officer = api.token("officer", sub="pay-hostile-officer", agency=commune(25))
    base = f"/v1/dossiers/{dossier['id']}/payments"
    cases = [
        (base, token, b"[" * 5000 + b"]" * 5000, "BODY_TOO_DEEP"),
        (base, token, b'{"gateway": "vnpay\\ud800"}', "TEXT_INVALID"),
        (f"{base}/desk", officer, b'{"amount": 1' + b"0" * 40 + b', "method": "cash", "receipt_number": "R1"}', None),
        (f"{base}/desk", officer, '{"amount": 5000, "method": "cash", "receipt_number": "R١٢"}'.encode(), None),
        (f"{base}/desk", officer, b'{"amount": 5000, "method": "cash", "receipt_number": "' + b"R" * 3000 + b'"}', None),
        (f"/v1/dossiers/{'f' * 3000}/payments", token, b'{"gateway": "vnpay"}', "PATH_INVALID"),
    ]
    for path, caller, raw, code in cases:
        reply = api.call("POST", path, raw=raw, token=caller)
        assert 400 <= reply.status < 500, (path, raw[:60], reply.status, reply.body)
        if code:
            assert reply.body["error"]["code"] == code, reply.body
    listed = api.call("GET", base, token=token).body
    assert (listed["items"], listed["paid_total"]) == ([], 0)  # nothing was recorded
    bad_admin = [("/v1/admin/counters/rebuild", b'{"period": "\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa6-11"}'),
                 ("/v1/admin/counters/rebuild", b'{"period": "2026-11", "compare": ["' + b"H" * 3000 + b'"]}'),
                 ("/v1/admin/payments/reconcile", b'{"older_than_minutes": 1' + b"0" * 30 + b"}")]
    for path, raw in bad_admin:
        reply = api.call("POST", path, raw=raw, token=admin_token)
        assert reply.status == 400, (path, reply.body)
    assert api.call("GET", "/v1/reports/index766?period=2026-Q5&agency=H46", token=admin_token).status == 400


def test_hostile_paygov_callbacks_are_refused_in_its_protocol_and_store_nothing(api: Api) -> None:
    token, dossier = filed(api, commune(25), "pay-hostile-paygov")
    payment = pay(api, dossier["id"], token, gateway="paygov").body
    forged = {"merchantCode": "DVCLOCAL", "orderId": payment["txn_ref"], "amount": str(FEE), "currency": "VND",
              "transactionNo": "1", "bankCode": "NCB", "payDate": "20261126101500", "resultCode": "00",
              "message": "ok", "checksum": "0" * 64}
    bodies = [json.dumps(forged).encode(),  # a forged checksum
              b"[" * 5000 + b"]" * 5000, b'{"orderId": "\\ud800"}', b'{"amount": 1' + b"0" * 40 + b"}",
              json.dumps({**forged, "amount": "٨٠٠٠"}).encode(), json.dumps({**forged, "orderId": "P" * 3000}).encode()]
    for raw in bodies:
        reply = api.call("POST", "/v1/payments/paygov/callback", raw=raw)
        assert reply.status == 200 and reply.body["code"] == "97", (raw[:60], reply.body)  # the platform's own code
    listed = api.call("GET", f"/v1/dossiers/{dossier['id']}/payments", token=token).body
    assert [p["status"] for p in listed["items"]] == ["pending"] and listed["paid_online_total"] == 0
