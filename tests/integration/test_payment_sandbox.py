"""The local payment sandbox on its own, over real HTTP on loopback: its pay pages call a tiny fake merchant back
(verifying with the real adapters and the independent VNPay reference) and its query APIs answer the adapters.

VNPay's protocol: https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html (pay URL, IPN, return URL) and
https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html (querydr). PayGov's messages follow
DOMAIN.md (no public specification), as written in `chalicelib/integrations/paygov.py`.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.integrations.gateway_config import local_configs
from chalicelib.integrations.gateway_wire import post_json
from chalicelib.integrations.paygov import CALLBACK_SCHEMA, PayGovGateway
from chalicelib.integrations.payment_gateway import Outcome, PaymentOrder, SettleResult, SignatureError
from chalicelib.integrations.vnpay import VNPayGateway
from chalicelib.validation import validate
from infra.local.payment_sandbox import PaymentSandbox, sandbox_environment, start_payment_sandbox
from infra.local.processes import free_port
from tests import vnpay_reference as reference

VNPAY, PAYGOV = local_configs({})
RETURN = "http://127.0.0.1:9/return"  # the browser's next stop: never fetched here


class FakeMerchant:
    """The API's two callback routes, answering as the protocols say: first delivery confirmed, the rest duplicates."""

    def __init__(self, vnpay: VNPayGateway, paygov: PayGovGateway) -> None:
        self.received: list[tuple[str, dict[str, str]]] = []
        self.settled: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                assert parts.path == "/v1/payments/vnpay/ipn", parts.path
                self.answer(vnpay, "vnpay", dict(parse_qsl(parts.query, keep_blank_values=True)))

            def do_POST(self) -> None:
                assert self.path == "/v1/payments/paygov/callback", self.path
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                validate(CALLBACK_SCHEMA, body)
                self.answer(paygov, "paygov", body)

            def answer(self, gateway: VNPayGateway | PayGovGateway, name: str, params: dict[str, str]) -> None:
                with merchant.lock:
                    merchant.received.append((name, params))
                    try:
                        report = gateway.verify_callback(params)
                    except SignatureError:
                        result = SettleResult.SIGNATURE_INVALID
                    else:
                        key = (name, report.txn_ref)
                        result = SettleResult.ALREADY_CONFIRMED if key in merchant.settled else SettleResult.CONFIRMED
                        merchant.settled.add(key)
                data = json.dumps(gateway.reply(result)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.request_queue_size = 64  # the parallel duplicates arrive at once
        self.server.server_bind()
        self.server.server_activate()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def of(self, name: str) -> list[dict[str, str]]:
        return [params for gateway, params in self.received if gateway == name]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world() -> Iterator[tuple[PaymentSandbox, FakeMerchant, VNPayGateway, PayGovGateway]]:
    port = free_port()
    env = {**sandbox_environment("http://127.0.0.1:1", port), "VNPAY_RETURN_URL": RETURN, "PAYGOV_RETURN_URL": RETURN}
    vnpay_config, paygov_config = local_configs(env)
    vnpay, paygov = VNPayGateway(vnpay_config), PayGovGateway(paygov_config)
    merchant = FakeMerchant(vnpay, paygov)
    sandbox = start_payment_sandbox(merchant.url, vnpay_config, paygov_config, port=port)
    try:
        yield sandbox, merchant, vnpay, paygov
    finally:
        sandbox.stop()
        merchant.stop()


def order(txn_ref: str = "P2026112600001", minutes: int = 15) -> PaymentOrder:
    now = datetime.now(UTC).replace(microsecond=0)
    return PaymentOrder(txn_ref=txn_ref, amount=150_000, description="Lệ phí cấp giấy phép", created_at=now,
                        expires_at=now + timedelta(minutes=minutes), client_ip="127.0.0.1")


def visit(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """GET `url` as a browser would, without following the redirect: status, Location, body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Location") or "", response.read().decode()
    finally:
        connection.close()


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- VNPay -----------------------------------------------------------------------------------------------


def test_the_sandboxs_urls_are_the_ones_it_puts_in_the_environment(world: Any) -> None:
    sandbox = world[0]
    env = sandbox_environment("http://api", int(urlsplit(sandbox.base_url).port or 0))
    assert (env["VNPAY_PAY_URL"], env["VNPAY_API_URL"]) == (sandbox.vnpay_pay_url, sandbox.vnpay_api_url)
    assert (env["PAYGOV_INIT_URL"], env["PAYGOV_API_URL"]) == (sandbox.paygov_init_url, sandbox.paygov_api_url)
    assert env["VNPAY_RETURN_URL"] == "http://api/v1/payments/vnpay/return"


def test_following_a_vnpay_payment_url_sends_a_signed_ipn_then_redirects(world: Any) -> None:
    """[PAY]: VNPay calls the IPN URL server to server and redirects the browser to vnp_ReturnUrl, both signed."""
    sandbox, merchant, vnpay, _ = world
    status, location, _ = visit(vnpay.payment_url(order()))
    assert status == 302 and location.startswith(RETURN + "?")
    (ipn,) = merchant.of("vnpay")
    assert ipn["vnp_SecureHash"] == reference.secure_hash(ipn, VNPAY.hash_secret)  # the independent reference agrees
    report = vnpay.verify_callback(ipn)
    assert (report.txn_ref, report.amount, report.outcome) == ("P2026112600001", 150_000, Outcome.SUCCEEDED)
    assert report.gateway_txn_no and report.paid_at is not None
    assert vnpay.verify_callback(query_of(location)) == report  # the return URL carries the same signed result
    assert [(d.status, json.loads(d.body)) for d in sandbox.deliveries] == [(200, {"RspCode": "00",
                                                                                  "Message": "Confirm Success"})]


@pytest.mark.parametrize(("scenario", "response_code", "status"), [
    ("failure", "24", "02"), ("code:51", "51", "02"), ("code:00", "00", "00"),
])
def test_the_outcome_is_chosen_by_a_query_parameter(world: Any, scenario: str, response_code: str, status: str) -> None:
    _, merchant, vnpay, _ = world
    visit(vnpay.payment_url(order()) + f"&sandbox_outcome={scenario}")
    (ipn,) = merchant.of("vnpay")
    assert (ipn["vnp_ResponseCode"], ipn["vnp_TransactionStatus"]) == (response_code, status)
    assert vnpay.verify_callback(ipn).outcome is (Outcome.SUCCEEDED if status == "00" else Outcome.FAILED)


def test_the_outcome_can_be_chosen_by_a_header(world: Any) -> None:
    _, merchant, vnpay, _ = world
    visit(vnpay.payment_url(order()), {"X-Sandbox-Outcome": "failure"})
    assert vnpay.verify_callback(merchant.of("vnpay")[0]).outcome is Outcome.FAILED


def test_a_repeated_ipn_is_delivered_each_time_and_answered_as_a_duplicate(world: Any) -> None:
    sandbox, merchant, vnpay, _ = world
    visit(vnpay.payment_url(order()) + "&sandbox_repeat=3")
    assert len(merchant.of("vnpay")) == 3 and len({json.dumps(p, sort_keys=True) for p in merchant.of("vnpay")}) == 1
    assert [json.loads(d.body)["RspCode"] for d in sandbox.deliveries] == ["00", "02", "02"]


def test_duplicates_can_arrive_at_once(world: Any) -> None:
    sandbox, merchant, vnpay, _ = world
    visit(vnpay.payment_url(order()) + "&sandbox_repeat=20&sandbox_parallel=1")
    assert len(merchant.of("vnpay")) == 20
    assert sorted(json.loads(d.body)["RspCode"] for d in sandbox.deliveries) == ["00"] + ["02"] * 19


def test_a_delayed_ipn_comes_after_the_redirect(world: Any) -> None:
    sandbox, merchant, vnpay, _ = world
    started = time.monotonic()
    status, _, _ = visit(vnpay.payment_url(order()) + "&sandbox_delay_s=0.5")
    assert status == 302 and not merchant.of("vnpay")
    assert len(sandbox.wait_for_deliveries(1)) == 1 and time.monotonic() - started >= 0.5
    assert vnpay.verify_callback(merchant.of("vnpay")[0]).outcome is Outcome.SUCCEEDED


def test_a_skipped_ipn_is_found_by_querydr(world: Any) -> None:
    """[QUERY]: the merchant asks what became of an order whose IPN never came; the answer's checksum verifies."""
    _, merchant, vnpay, _ = world
    the_order = order()
    status, _, _ = visit(vnpay.payment_url(the_order) + "&sandbox_skip_ipn=1")
    assert status == 302 and not merchant.of("vnpay")
    report = vnpay.query(the_order, datetime.now(UTC))
    assert (report.outcome, report.amount, report.response_code) == (Outcome.SUCCEEDED, 150_000, "00")


def test_an_unfinished_payment_is_pending_and_sends_nothing(world: Any) -> None:
    _, merchant, vnpay, _ = world
    the_order = order()
    status, _, _ = visit(vnpay.payment_url(the_order) + "&sandbox_outcome=pending")
    assert status == 200 and not merchant.of("vnpay")
    assert vnpay.query(the_order, datetime.now(UTC)).outcome is Outcome.PENDING


def test_a_failed_payment_is_failed_in_querydr(world: Any) -> None:
    _, _, vnpay, _ = world
    the_order = order()
    visit(vnpay.payment_url(the_order) + "&sandbox_outcome=failure&sandbox_skip_ipn=1")
    assert vnpay.query(the_order, datetime.now(UTC)).outcome is Outcome.FAILED


def test_querydr_for_an_order_never_seen_is_unknown(world: Any) -> None:
    _, _, vnpay, _ = world
    assert vnpay.query(order("P0000000000404"), datetime.now(UTC)).outcome is Outcome.UNKNOWN


def test_a_paid_order_cannot_be_paid_again_but_a_failed_one_can(world: Any) -> None:
    _, merchant, vnpay, _ = world
    the_order = order()
    assert visit(vnpay.payment_url(the_order) + "&sandbox_outcome=failure")[0] == 302
    assert visit(vnpay.payment_url(the_order))[0] == 302
    assert visit(vnpay.payment_url(the_order))[0] == 400
    assert [vnpay.verify_callback(p).outcome for p in merchant.of("vnpay")] == [Outcome.FAILED, Outcome.SUCCEEDED]


def test_an_expired_order_fails_with_code_11(world: Any) -> None:
    """[CODES] 11: "Đã hết hạn chờ thanh toán"."""
    _, merchant, vnpay, _ = world
    expired = order()
    expired = PaymentOrder(**{**expired.__dict__, "created_at": expired.created_at - timedelta(hours=1),
                              "expires_at": expired.created_at - timedelta(minutes=45)})
    visit(vnpay.payment_url(expired))
    assert merchant.of("vnpay")[0]["vnp_ResponseCode"] == "11"


@pytest.mark.parametrize("tamper", ["&vnp_Amount=1", "&sandbox_outcome=nonsense", "&sandbox_repeat=1000"])
def test_a_tampered_or_nonsensical_pay_request_is_refused_without_a_callback(world: Any, tamper: str) -> None:
    _, merchant, vnpay, _ = world
    url = vnpay.payment_url(order())
    if tamper.startswith("&vnp_Amount"):
        url = url.replace("vnp_Amount=15000000", "vnp_Amount=100")
    else:
        url += tamper
    assert visit(url)[0] == 400 and not merchant.of("vnpay")


# --- PayGov ----------------------------------------------------------------------------------------------


def test_following_a_paygov_url_posts_a_signed_callback_then_redirects(world: Any) -> None:
    sandbox, merchant, _, paygov = world
    status, location, _ = visit(paygov.payment_url(order("G2026112600001")))
    assert status == 302 and location.startswith(RETURN + "?")
    (notice,) = merchant.of("paygov")
    report = paygov.verify_callback(notice)
    assert (report.txn_ref, report.amount, report.outcome) == ("G2026112600001", 150_000, Outcome.SUCCEEDED)
    assert paygov.verify_callback(query_of(location)) == report
    assert json.loads(sandbox.deliveries[0].body)["code"] == "00"


def test_a_paygov_failure_and_its_query(world: Any) -> None:
    _, merchant, _, paygov = world
    the_order = order("G2026112600002")
    visit(paygov.payment_url(the_order) + "&sandbox_outcome=failure&sandbox_repeat=2")
    assert [paygov.verify_callback(p).outcome for p in merchant.of("paygov")] == [Outcome.FAILED] * 2
    assert paygov.query(the_order, datetime.now(UTC)).outcome is Outcome.FAILED


@pytest.mark.parametrize(("scenario", "outcome"), [("&sandbox_skip_ipn=1", Outcome.SUCCEEDED),
                                                   ("&sandbox_outcome=pending", Outcome.PENDING)])
def test_paygov_query_finds_what_no_callback_said(world: Any, scenario: str, outcome: Outcome) -> None:
    _, merchant, _, paygov = world
    the_order = order("G2026112600003")
    visit(paygov.payment_url(the_order) + scenario)
    assert not merchant.of("paygov")
    assert paygov.query(the_order, datetime.now(UTC)).outcome is outcome


def test_paygov_query_for_an_order_never_seen_is_unknown(world: Any) -> None:
    assert world[3].query(order("G0000000000404"), datetime.now(UTC)).outcome is Outcome.UNKNOWN


def test_a_tampered_paygov_init_is_refused(world: Any) -> None:
    _, merchant, _, paygov = world
    url = paygov.payment_url(order("G2026112600004")).replace("amount=150000", "amount=1")
    assert visit(url)[0] == 400 and not merchant.of("paygov")


# --- the default transport -------------------------------------------------------------------------------


def test_an_unreachable_gateway_is_upstream_unavailable() -> None:
    with pytest.raises(UpstreamUnavailableError):
        post_json(f"http://127.0.0.1:{free_port()}/merchant_webapi/api/transaction", {"a": "b"}, 2.0)


def test_a_gateway_answering_404_is_an_integration_error(world: Any) -> None:
    with pytest.raises(IntegrationError) as caught:
        post_json(world[0].base_url + "/nowhere", {"a": "b"}, 2.0)
    assert not isinstance(caught.value, UpstreamUnavailableError)


def test_only_http_urls_are_opened() -> None:
    with pytest.raises(IntegrationError):
        post_json("file:///etc/passwd", {}, 1.0)
