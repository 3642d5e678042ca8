"""The national payment platform (PayGov, https://www.pay.gov.vn, the payment hub of the National Public Service
Portal): INIT (the signed payment URL), the callback and its reply, and QUERY.

PayGov's message specification is given to connected portals and is not public; none could be found here. These
messages follow `DOMAIN.md` ("messages signed with SHA-256 over `|`-joined fields plus the secret; callback result
code `00` = success; a QUERY message checks status") and keep VNPay's shape where DOMAIN.md says nothing. When the
official specification is at hand, only the field lists and codes below should need to change.

Checksum: `sha256(f1 + "|" + f2 + ... + "|" + fn + "|" + secret)`, lowercase hex, over the fields in the order listed
(an absent optional field is ""). No value may contain `|` (it would let fields be re-cut under one checksum).

    INIT (browser GET to init_url)  version|command=INIT|merchantCode|orderId|amount|currency|orderInfo|createDate|
                                    expireDate|clientIp|locale|returnUrl                               → checksum
    callback (server POST JSON)     merchantCode|orderId|amount|currency|transactionNo|bankCode|payDate|resultCode|
                                    message                                                            → checksum
    QUERY (POST JSON to api_url)    version|command=QUERY|merchantCode|requestId|orderId|createDate|requestDate
    QUERY answer                    requestId|<the callback's fields>                                  → checksum

Amounts are whole VND (no ×100); dates are yyyyMMddHHmmss in Vietnam time; the browser return URL gets the callback's
fields as its query. Result codes: "00" paid; in a QUERY answer "01" not paid yet, "02" no such order, "96" request
malformed, "97" request checksum wrong, "99" platform error (retry); any other code is a failed payment. The callback
is answered `{"code", "message"}` with the codes VNPay uses for the same outcomes (`REPLIES`); anything but "00" and
"02" asks PayGov to deliver again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.integrations.gateway_wire import (
    DEFAULT_TIMEOUT_S,
    UNAVAILABLE,
    JsonTransport,
    ascii_order_info,
    check_order_fields,
    hex_matches,
    parse_vn_timestamp,
    post_json,
    vn_timestamp,
    wire_text,
)
from chalicelib.integrations.payment_gateway import (
    GatewayName,
    GatewayReport,
    MalformedCallbackError,
    Outcome,
    PaymentOrder,
    SettleResult,
    SignatureError,
)

CALLBACK_SCHEMA = "paygov-callback.v1.json"
INIT_FIELDS = ("version", "command", "merchantCode", "orderId", "amount", "currency", "orderInfo", "createDate",
               "expireDate", "clientIp", "locale", "returnUrl")
CALLBACK_FIELDS = ("merchantCode", "orderId", "amount", "currency", "transactionNo", "bankCode", "payDate",
                   "resultCode", "message")
QUERY_FIELDS = ("version", "command", "merchantCode", "requestId", "orderId", "createDate", "requestDate")
QUERY_ANSWER_FIELDS = ("requestId", *CALLBACK_FIELDS)
MAX_AMOUNT = 10**12 - 1
SUCCESS = "00"
QUERY_PENDING = "01"
QUERY_NOT_FOUND = "02"
QUERY_REFUSED = frozenset({"96", "97"})
QUERY_RETRY_LATER = "99"
REPLIES = {
    SettleResult.CONFIRMED: ("00", "Xác nhận thành công (confirmed)"),
    SettleResult.NOT_FOUND: ("01", "Không tìm thấy giao dịch (order not found)"),
    SettleResult.ALREADY_CONFIRMED: ("02", "Giao dịch đã được xác nhận (order already confirmed)"),
    SettleResult.AMOUNT_MISMATCH: ("04", "Số tiền không hợp lệ (invalid amount)"),
    SettleResult.SIGNATURE_INVALID: ("97", "Sai mã kiểm tra (invalid checksum)"),
    SettleResult.ERROR: ("99", "Lỗi không xác định (unknown error)"),
}

_AMOUNT = re.compile(r"[1-9][0-9]{0,11}")
_CODE = re.compile(r"[0-9]{2}")
_ORDER_ID = re.compile(r"[A-Za-z0-9]{1,100}")
_TXN_NO = re.compile(r"[A-Za-z0-9]{1,40}")
_BANK_CODE = re.compile(r"[A-Za-z0-9_]{1,20}")


@dataclass(frozen=True)
class PayGovConfig:
    merchant_code: str
    secret: str = field(repr=False)
    init_url: str
    api_url: str  # QUERY
    return_url: str
    version: str = "1.0"
    locale: str = "vi"


def checksum(values: Mapping[str, str], fields: tuple[str, ...], secret: str) -> str:
    return hashlib.sha256("|".join([*(values.get(name, "") for name in fields), secret]).encode("utf-8")).hexdigest()


def _report(values: Mapping[str, str], txn_ref: str, outcome: Outcome) -> GatewayReport:
    amount = values.get("amount", "")
    if not _AMOUNT.fullmatch(amount) or values.get("currency") != "VND":
        raise MalformedCallbackError("amount is not 1 to 12 ASCII digits of VND")
    transaction_no = values.get("transactionNo") or None
    bank_code = values.get("bankCode") or None
    if (transaction_no and not _TXN_NO.fullmatch(transaction_no)) or (bank_code and not _BANK_CODE.fullmatch(bank_code)):
        raise MalformedCallbackError("transactionNo or bankCode is malformed")
    paid_at = None
    if values.get("payDate"):
        try:
            paid_at = parse_vn_timestamp(values["payDate"])
        except ValueError as exc:
            raise MalformedCallbackError("payDate is not yyyyMMddHHmmss") from exc
    return GatewayReport(txn_ref=txn_ref, amount=int(amount), outcome=outcome, response_code=values["resultCode"],
                         gateway_txn_no=transaction_no, bank_code=bank_code, paid_at=paid_at)


class PayGovGateway:
    def __init__(self, config: PayGovConfig, http: JsonTransport = post_json, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 request_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self.name = GatewayName.PAYGOV
        self.config = config
        self._http = http
        self._timeout_s = timeout_s
        self._request_id = request_id

    def _signed(self, values: dict[str, str], fields: tuple[str, ...]) -> dict[str, str]:
        if any("|" in value for value in values.values()):
            raise ValueError("a PayGov field may not contain '|'")
        return {**values, "checksum": checksum(values, fields, self.config.secret)}

    def init_params(self, order: PaymentOrder) -> dict[str, str]:
        """The INIT message, signed."""
        check_order_fields(order.txn_ref, order.amount, MAX_AMOUNT, order.client_ip, order.created_at, order.expires_at)
        return self._signed({
            "version": self.config.version,
            "command": "INIT",
            "merchantCode": self.config.merchant_code,
            "orderId": order.txn_ref,
            "amount": str(order.amount),
            "currency": "VND",
            "orderInfo": ascii_order_info(order.description, f"Thanh toan {order.txn_ref}"),
            "createDate": vn_timestamp(order.created_at),
            "expireDate": vn_timestamp(order.expires_at),
            "clientIp": order.client_ip,
            "locale": self.config.locale,
            "returnUrl": self.config.return_url,
        }, INIT_FIELDS)

    def payment_url(self, order: PaymentOrder) -> str:
        return f"{self.config.init_url}?{urlencode(self.init_params(order))}"

    def verify_callback(self, params: Mapping[str, str]) -> GatewayReport:
        """The callback (or the return URL's query) once its checksum verifies; success only with resultCode "00"."""
        values = {name: params.get(name, "") for name in CALLBACK_FIELDS}
        if not all(isinstance(value, str) and "|" not in value for value in values.values()):
            raise SignatureError("a field is not text or contains '|': the checksum cannot be verified")
        if not params.get("checksum"):
            raise SignatureError("checksum is missing")
        if not hex_matches(checksum(values, CALLBACK_FIELDS, self.config.secret), params.get("checksum")):
            raise SignatureError("checksum does not match")
        if values["merchantCode"] != self.config.merchant_code:
            raise MalformedCallbackError("merchantCode is not ours")
        if not _ORDER_ID.fullmatch(values["orderId"]) or not _CODE.fullmatch(values["resultCode"]):
            raise MalformedCallbackError("orderId or resultCode is missing or malformed")
        outcome = Outcome.SUCCEEDED if values["resultCode"] == SUCCESS else Outcome.FAILED
        return _report(values, values["orderId"], outcome)

    def reply(self, result: SettleResult) -> dict[str, Any]:
        code, message = REPLIES[result]
        return {"code": code, "message": message}

    def query_request(self, order: PaymentOrder, now: datetime) -> dict[str, str]:
        return self._signed({
            "version": self.config.version,
            "command": "QUERY",
            "merchantCode": self.config.merchant_code,
            "requestId": self._request_id(),
            "orderId": order.txn_ref,
            "createDate": vn_timestamp(order.created_at),
            "requestDate": vn_timestamp(now),
        }, QUERY_FIELDS)

    def query(self, order: PaymentOrder, now: datetime) -> GatewayReport:
        """QUERY; `Outcome.UNKNOWN` (amount 0) for an order PayGov does not know."""
        request = self.query_request(order, now)
        answer = self._http(self.config.api_url, request, self._timeout_s)
        return self.read_query_answer(answer, order, request["requestId"])

    def read_query_answer(self, answer: Mapping[str, Any], order: PaymentOrder, request_id: str) -> GatewayReport:
        try:
            values = {name: wire_text(answer.get(name)) for name in QUERY_ANSWER_FIELDS}
        except ValueError as exc:
            raise SignatureError("a QUERY answer field is neither text nor an integer") from exc
        if any("|" in value for value in values.values()) or not hex_matches(
                checksum(values, QUERY_ANSWER_FIELDS, self.config.secret), answer.get("checksum")):
            raise SignatureError("the QUERY answer's checksum is missing or does not match")
        code = values["resultCode"]
        if code == QUERY_RETRY_LATER:
            raise UpstreamUnavailableError(UNAVAILABLE, details={"gateway": "paygov", "response_code": code})
        if code in QUERY_REFUSED or not _CODE.fullmatch(code):
            raise IntegrationError(f"PayGov từ chối truy vấn (mã {code[:8]}). (PayGov refused the query.)",
                                   details={"gateway": "paygov", "response_code": code[:8]})
        if values["requestId"] != request_id or values["merchantCode"] != self.config.merchant_code or (
                values["orderId"] != order.txn_ref):
            raise IntegrationError("PayGov trả lời về yêu cầu khác. (PayGov answered another request.)")
        if code == QUERY_NOT_FOUND:
            return GatewayReport(txn_ref=order.txn_ref, amount=0, outcome=Outcome.UNKNOWN, response_code=code)
        if code == QUERY_PENDING and not values["amount"]:
            return GatewayReport(txn_ref=order.txn_ref, amount=0, outcome=Outcome.PENDING, response_code=code)
        outcome = {SUCCESS: Outcome.SUCCEEDED, QUERY_PENDING: Outcome.PENDING}.get(code, Outcome.FAILED)
        return _report(values, order.txn_ref, outcome)
