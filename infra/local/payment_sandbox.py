"""Local stand-ins for VNPay and the national payment platform (PayGov): pay pages that call the API back, and status
queries answered from what they remember. `make run` and the test stack start one on 127.0.0.1 (a free port).

VNPay   GET  /paymentv2/vpcpay.html?vnp_...        checks the signature as VNPay does, remembers the order, sends the
                                                   signed IPN (GET {api_url}/v1/payments/vnpay/ipn?...), then answers
                                                   302 to vnp_ReturnUrl with the same signed parameters
        POST /merchant_webapi/api/transaction      querydr, checked and answered with VNPay's checksums
PayGov  GET  /paygov/init?...                      the same for INIT; the callback is POST {api_url}/v1/payments/paygov/callback
        POST /paygov/api/query                     QUERY
        GET  /_sandbox/orders                      what the sandbox remembers (JSON), and every callback it delivered

A pay page takes its scenario from query parameters (or the same names as `X-Sandbox-*` headers, `_` → `-`):
`sandbox_outcome=success|failure|pending|code:NN` (default success; `pending`: the payer never finishes, no callback),
`sandbox_delay_s=N` (the callback comes N seconds later, after the redirect), `sandbox_repeat=N` (delivered N times),
`sandbox_parallel=1` (the N deliveries at once), `sandbox_skip_ipn=1` (the payment is made but its callback never
comes: only a query finds it). Without a delay the callbacks are delivered before the browser is redirected.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalicelib.integrations import paygov as pg
from chalicelib.integrations import vnpay as vp
from chalicelib.integrations.gateway_wire import hex_matches, parse_vn_timestamp, vn_timestamp
from chalicelib.integrations.paygov import PayGovConfig
from chalicelib.integrations.payment_gateway import MalformedCallbackError
from chalicelib.integrations.vnpay import VNPayConfig

log = logging.getLogger("payment_sandbox")

VNPAY_PAY_PATH = "/paymentv2/vpcpay.html"
VNPAY_API_PATH = "/merchant_webapi/api/transaction"
PAYGOV_INIT_PATH = "/paygov/init"
PAYGOV_API_PATH = "/paygov/api/query"
VNPAY_IPN_PATH = "/v1/payments/vnpay/ipn"
PAYGOV_CALLBACK_PATH = "/v1/payments/paygov/callback"
MAX_REPEAT, MAX_DELAY_S, MAX_BODY = 100, 120.0, 64 * 1024
VNPAY_CANCELLED, PAYGOV_CANCELLED, EXPIRED = "24", "10", "11"  # the payer cancelled; the order had expired


class SandboxRequestError(ValueError):
    """A request the sandbox refuses (400), as the real gateway would refuse it."""


@dataclass(frozen=True)
class Scenario:
    outcome: str = "success"
    delay_s: float = 0.0
    repeat: int = 1
    parallel: bool = False
    skip_callback: bool = False

    @classmethod
    def read(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> Scenario:
        def get(name: str) -> str | None:
            return query.get(f"sandbox_{name}") or headers.get("x-sandbox-" + name.replace("_", "-"))

        try:
            scenario = cls(outcome=get("outcome") or "success", delay_s=float(get("delay_s") or 0),
                           repeat=int(get("repeat") or 1), parallel=(get("parallel") or "0") == "1",
                           skip_callback=(get("skip_ipn") or "0") == "1")
        except ValueError as exc:
            raise SandboxRequestError("sandbox_delay_s and sandbox_repeat must be numbers") from exc
        code = scenario.outcome.removeprefix("code:")
        if scenario.outcome not in ("success", "failure", "pending") and not (
                scenario.outcome.startswith("code:") and len(code) == 2 and code.isascii() and code.isdigit()):
            raise SandboxRequestError("sandbox_outcome must be success, failure, pending or code:NN")
        if not (0 <= scenario.delay_s <= MAX_DELAY_S and 1 <= scenario.repeat <= MAX_REPEAT):
            raise SandboxRequestError(f"sandbox_delay_s must be 0..{MAX_DELAY_S:g}, sandbox_repeat 1..{MAX_REPEAT}")
        return scenario

    def result_code(self, cancelled: str) -> str | None:
        """The gateway's result code for this outcome; None while the payer has not finished."""
        return {"success": "00", "failure": cancelled, "pending": None}.get(self.outcome, self.outcome[5:])


@dataclass
class SandboxOrder:
    gateway: str
    txn_ref: str
    amount: int  # VND
    order_info: str
    create_date: str  # as the merchant sent it (yyyyMMddHHmmss, Vietnam time)
    status: str = "pending"  # pending | succeeded | failed
    result_code: str = ""
    transaction_no: str = ""
    bank_code: str = ""
    pay_date: str = ""


@dataclass(frozen=True)
class Delivery:
    gateway: str
    txn_ref: str
    status: int | None  # None: the API could not be reached
    body: str


@dataclass
class PaymentSandbox:
    api_url: str
    vnpay: VNPayConfig
    paygov: PayGovConfig
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    orders: dict[tuple[str, str], SandboxOrder] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _transaction_no: int = 14_000_000
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def vnpay_pay_url(self) -> str:
        return self.base_url + VNPAY_PAY_PATH

    @property
    def vnpay_api_url(self) -> str:
        return self.base_url + VNPAY_API_PATH

    @property
    def paygov_init_url(self) -> str:
        return self.base_url + PAYGOV_INIT_PATH

    @property
    def paygov_api_url(self) -> str:
        return self.base_url + PAYGOV_API_PATH

    def start(self, port: int = 0) -> PaymentSandbox:
        server = self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._spawn(lambda: server.serve_forever(poll_interval=0.05), "payment-sandbox")
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def wait_for_deliveries(self, count: int, timeout_s: float = 10.0) -> list[Delivery]:
        """The first `count` deliveries, once made (for tests of delayed callbacks)."""
        deadline = time.monotonic() + timeout_s
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.deliveries)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _next_transaction_no(self) -> str:
        with self._lock:
            self._transaction_no += 1
            return str(self._transaction_no)

    def _settle(self, order: SandboxOrder, code: str | None) -> None:
        """The payer finished with `code`, or has not yet (None)."""
        if code is None:
            return
        order.status = "succeeded" if code == "00" else "failed"
        order.result_code = code
        order.transaction_no = self._next_transaction_no() if order.status == "succeeded" else "0"
        order.bank_code = "NCB"
        order.pay_date = vn_timestamp(self.clock())

    def _remember(self, order: SandboxOrder) -> SandboxOrder:
        """A new attempt at an order; one already paid cannot be paid again (use sandbox_repeat for duplicates)."""
        with self._lock:
            known = self.orders.get((order.gateway, order.txn_ref))
            if known is not None and known.status == "succeeded":
                raise SandboxRequestError(f"Đơn hàng {order.txn_ref} đã được thanh toán (order already paid)")
            self.orders[(order.gateway, order.txn_ref)] = order
            return order

    # --- callbacks -------------------------------------------------------------------------------------------

    def _deliver(self, scenario: Scenario, gateway: str, txn_ref: str, send: Callable[[], Delivery]) -> None:
        def once() -> None:
            if self._stopped.is_set():
                return
            delivery = send()
            log.info("%s callback for %s → %s %s", gateway, txn_ref, delivery.status, delivery.body[:200])
            with self._lock:
                self.deliveries.append(delivery)

        def all_of_them() -> None:
            if scenario.delay_s and self._stopped.wait(scenario.delay_s):
                return
            if scenario.parallel:
                threads = [threading.Thread(target=once, daemon=True) for _ in range(scenario.repeat)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for _ in range(scenario.repeat):
                    once()

        if scenario.delay_s:
            self._spawn(all_of_them, f"{gateway}-callback-{txn_ref}")
        else:
            all_of_them()

    def _send(self, gateway: str, txn_ref: str, request: urllib.request.Request) -> Delivery:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Delivery(gateway, txn_ref, response.status, response.read(MAX_BODY).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return Delivery(gateway, txn_ref, exc.code, exc.read(MAX_BODY).decode("utf-8", "replace"))
        except (urllib.error.URLError, OSError) as exc:
            return Delivery(gateway, txn_ref, None, str(exc))

    # --- VNPay -----------------------------------------------------------------------------------------------

    def vnpay_pay(self, query: dict[str, str], scenario: Scenario) -> str | None:
        """The pay page: the URL to redirect the browser to, or None while the payer has not finished."""
        cfg = self.vnpay
        if not hex_matches(vp.sign(query, cfg.hash_secret), query.get("vnp_SecureHash")):
            raise SandboxRequestError("Sai chữ ký (invalid signature)")
        expected = {"vnp_Version": cfg.version, "vnp_Command": "pay", "vnp_TmnCode": cfg.tmn_code, "vnp_CurrCode": "VND"}
        wrong = [name for name, value in expected.items() if query.get(name) != value]
        missing = [name for name in ("vnp_TxnRef", "vnp_ReturnUrl", "vnp_OrderInfo", "vnp_IpAddr") if not query.get(name)]
        if wrong or missing:
            raise SandboxRequestError(f"Dữ liệu không hợp lệ (invalid parameters): {', '.join(wrong + missing)}")
        try:
            amount = vp.parse_amount(query.get("vnp_Amount"))
            expired = parse_vn_timestamp(query.get("vnp_ExpireDate", "")) < self.clock()
            parse_vn_timestamp(query.get("vnp_CreateDate", ""))
        except (ValueError, MalformedCallbackError) as exc:
            raise SandboxRequestError(f"Dữ liệu không hợp lệ (invalid amount or date): {exc}") from exc
        order = self._remember(SandboxOrder("vnpay", query["vnp_TxnRef"], amount, query["vnp_OrderInfo"],
                                            query["vnp_CreateDate"]))
        code = EXPIRED if expired else scenario.result_code(VNPAY_CANCELLED)
        self._settle(order, code)
        if code is None:
            return None
        params = self._vnpay_result(order, code)
        if not scenario.skip_callback:
            url = f"{self.api_url}{VNPAY_IPN_PATH}?{params}"
            self._deliver(scenario, "vnpay", order.txn_ref,
                          lambda: self._send("vnpay", order.txn_ref, urllib.request.Request(url, method="GET")))
        return f"{query['vnp_ReturnUrl']}?{params}"

    def _vnpay_result(self, order: SandboxOrder, code: str) -> str:
        """The IPN's (and the return URL's) signed query string for this attempt's `code`."""
        params = {
            "vnp_Amount": str(order.amount * 100),
            "vnp_BankCode": order.bank_code,
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": order.order_info,
            "vnp_PayDate": order.pay_date,
            "vnp_ResponseCode": code,
            "vnp_TmnCode": self.vnpay.tmn_code,
            "vnp_TransactionNo": order.transaction_no if code == "00" else "0",
            "vnp_TransactionStatus": "00" if code == "00" else "02",
            "vnp_TxnRef": order.txn_ref,
        }
        if code == "00":
            params["vnp_BankTranNo"] = f"VNP{order.transaction_no}"
        return f"{vp.signed_query(params)}&vnp_SecureHash={vp.sign(params, self.vnpay.hash_secret)}"

    def vnpay_querydr(self, body: Mapping[str, Any]) -> dict[str, str]:
        cfg = self.vnpay
        request = _strings(body, vp.QUERYDR_REQUEST_FIELDS)
        answer = dict.fromkeys(vp.QUERYDR_RESPONSE_FIELDS, "")
        answer.update(vnp_ResponseId=uuid.uuid4().hex, vnp_Command="querydr", vnp_TmnCode=cfg.tmn_code,
                      vnp_TxnRef=request["vnp_TxnRef"])
        order = self.orders.get(("vnpay", request["vnp_TxnRef"]))
        if not hex_matches(vp.querydr_checksum(request, vp.QUERYDR_REQUEST_FIELDS, cfg.hash_secret),
                           body.get("vnp_SecureHash")):
            answer.update(vnp_ResponseCode="97", vnp_Message="Invalid Checksum")
        elif request["vnp_TmnCode"] != cfg.tmn_code:
            answer.update(vnp_ResponseCode="02", vnp_Message="Merchant is not valid")
        elif request["vnp_Command"] != "querydr" or request["vnp_Version"] != cfg.version:
            answer.update(vnp_ResponseCode="03", vnp_Message="Invalid data format")
        elif order is None or order.create_date != request["vnp_TransactionDate"]:
            answer.update(vnp_ResponseCode="91", vnp_Message="Transaction not found")
        else:
            answer.update(
                vnp_ResponseCode="00", vnp_Message="QueryDR Success", vnp_Amount=str(order.amount * 100),
                vnp_BankCode=order.bank_code, vnp_PayDate=order.pay_date,
                vnp_TransactionNo=order.transaction_no if order.status == "succeeded" else "0",
                vnp_TransactionType="01", vnp_OrderInfo=order.order_info,
                vnp_TransactionStatus={"succeeded": "00", "failed": "02"}.get(order.status, "01"),
            )
        answer["vnp_SecureHash"] = vp.querydr_checksum(answer, vp.QUERYDR_RESPONSE_FIELDS, cfg.hash_secret)
        return answer

    # --- PayGov ----------------------------------------------------------------------------------------------

    def paygov_init(self, query: dict[str, str], scenario: Scenario) -> str | None:
        cfg = self.paygov
        if any("|" in value for value in query.values()) or not hex_matches(
                pg.checksum(query, pg.INIT_FIELDS, cfg.secret), query.get("checksum")):
            raise SandboxRequestError("Sai mã kiểm tra (invalid checksum)")
        expected = {"version": cfg.version, "command": "INIT", "merchantCode": cfg.merchant_code, "currency": "VND"}
        wrong = [name for name, value in expected.items() if query.get(name) != value]
        missing = [name for name in ("orderId", "returnUrl", "orderInfo", "amount") if not query.get(name)]
        if wrong or missing or not query["amount"].isascii() or not query["amount"].isdigit():
            raise SandboxRequestError(f"Dữ liệu không hợp lệ (invalid parameters): {', '.join(wrong + missing)}")
        try:
            expired = parse_vn_timestamp(query.get("expireDate", "")) < self.clock()
            parse_vn_timestamp(query.get("createDate", ""))
        except ValueError as exc:
            raise SandboxRequestError("createDate/expireDate must be yyyyMMddHHmmss") from exc
        order = self._remember(SandboxOrder("paygov", query["orderId"], int(query["amount"]), query["orderInfo"],
                                            query["createDate"]))
        code = EXPIRED if expired else scenario.result_code(PAYGOV_CANCELLED)
        self._settle(order, code)
        if code is None:
            return None
        notice = self._paygov_result(order, code)
        if not scenario.skip_callback:
            data = json.dumps(notice).encode("utf-8")
            url = f"{self.api_url}{PAYGOV_CALLBACK_PATH}"
            self._deliver(scenario, "paygov", order.txn_ref, lambda: self._send("paygov", order.txn_ref,
                          urllib.request.Request(url, data=data, method="POST",
                                                 headers={"Content-Type": "application/json"})))
        return f"{query['returnUrl']}?{urlencode(notice)}"

    def _paygov_result(self, order: SandboxOrder, code: str, request_id: str | None = None) -> dict[str, str]:
        values = {
            "merchantCode": self.paygov.merchant_code, "orderId": order.txn_ref, "amount": str(order.amount),
            "currency": "VND", "transactionNo": order.transaction_no if code == "00" else "",
            "bankCode": order.bank_code, "payDate": order.pay_date, "resultCode": code,
            "message": "Giao dich thanh cong" if code == "00" else f"Giao dich khong thanh cong ({code})",
        }
        fields: tuple[str, ...] = pg.CALLBACK_FIELDS
        if request_id is not None:
            values, fields = {"requestId": request_id, **values}, pg.QUERY_ANSWER_FIELDS
        return {**values, "checksum": pg.checksum(values, fields, self.paygov.secret)}

    def paygov_query(self, body: Mapping[str, Any]) -> dict[str, str]:
        cfg = self.paygov
        request = _strings(body, pg.QUERY_FIELDS)
        order = self.orders.get(("paygov", request["orderId"]))
        if any("|" in value for value in request.values()) or not hex_matches(
                pg.checksum(request, pg.QUERY_FIELDS, cfg.secret), body.get("checksum")):
            code = "97"
        elif request["merchantCode"] != cfg.merchant_code or request["command"] != "QUERY":
            code = "96"
        elif order is None or order.create_date != request["createDate"]:
            code = pg.QUERY_NOT_FOUND
        else:
            code = {"succeeded": "00", "failed": order.result_code}.get(order.status, pg.QUERY_PENDING)
        if order is None or code in ("96", "97", pg.QUERY_NOT_FOUND):
            blank = SandboxOrder("paygov", request["orderId"], 0, "", "")
            answer = self._paygov_result(blank, code, request["requestId"])
            answer.update(amount="", currency="", message="")
            answer["checksum"] = pg.checksum(answer, pg.QUERY_ANSWER_FIELDS, cfg.secret)
            return answer
        return self._paygov_result(order, code, request["requestId"])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"orders": [asdict(order) for order in self.orders.values()],
                    "deliveries": [asdict(delivery) for delivery in self.deliveries]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of duplicate callbacks, or a browser's parallel requests


def _strings(body: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: value if isinstance(value := body.get(name), str) else "" for name in names}


def _handler_for(sandbox: PaymentSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                query = dict(parse_qsl(parts.query, keep_blank_values=True, max_num_fields=100))
                if parts.path == "/_sandbox/orders":
                    return self._json(200, sandbox.snapshot())
                pages = {VNPAY_PAY_PATH: sandbox.vnpay_pay, PAYGOV_INIT_PATH: sandbox.paygov_init}
                if parts.path not in pages:
                    return self._text(404, "not found")
                target = pages[parts.path](query, Scenario.read(query, headers))
            except (SandboxRequestError, ValueError) as exc:
                return self._text(400, str(exc))
            if target is None:
                return self._text(200, "Đang chờ thanh toán (the payer has not finished; no callback).")
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            apis = {VNPAY_API_PATH: sandbox.vnpay_querydr, PAYGOV_API_PATH: sandbox.paygov_query}
            length = int(self.headers.get("Content-Length") or 0)
            if urlsplit(self.path).path not in apis:
                return self._text(404, "not found")
            try:
                body = json.loads(self.rfile.read(min(length, MAX_BODY)))
            except ValueError:
                return self._text(400, "the body is not JSON")
            if not isinstance(body, dict):
                return self._text(400, "the body is not a JSON object")
            self._json(200, apis[urlsplit(self.path).path](body))

        def _json(self, status: int, body: Any) -> None:
            self._send(status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8"))

        def _text(self, status: int, text: str) -> None:
            self._send(status, "text/plain; charset=utf-8", text.encode("utf-8"))

        def _send(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def sandbox_environment(api_url: str, port: int) -> dict[str, str]:
    """The variables that point the local stage's gateways at a sandbox on `port` and their return URLs at the API."""
    base = f"http://127.0.0.1:{port}"
    return {
        "VNPAY_PAY_URL": base + VNPAY_PAY_PATH,
        "VNPAY_API_URL": base + VNPAY_API_PATH,
        "VNPAY_RETURN_URL": f"{api_url}/v1/payments/vnpay/return",
        "PAYGOV_INIT_URL": base + PAYGOV_INIT_PATH,
        "PAYGOV_API_URL": base + PAYGOV_API_PATH,
        "PAYGOV_RETURN_URL": f"{api_url}/v1/payments/paygov/return",
    }


def start_payment_sandbox(api_url: str, vnpay: VNPayConfig, paygov: PayGovConfig, *, port: int = 0) -> PaymentSandbox:
    """Both simulators on 127.0.0.1:`port` (0: any free port), calling the API at `api_url` back."""
    return PaymentSandbox(api_url.rstrip("/"), vnpay, paygov).start(port)
