"""VNPay 2.1.0: the signed payment URL, the IPN and its reply, and `querydr`, as VNPay documents them.

Sources (VNPay's developer documentation):
- payment URL, IPN, return URL, IPN reply codes: https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html
- version 2.1.0 signs with HMAC-SHA512 and sends no `vnp_SecureHashType`:
  https://sandbox.vnpayment.vn/apis/docs/chuyen-doi-thuat-toan/changeTypeHash.html
- `querydr` (request and response checksums): https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html
- response and transaction status codes: https://sandbox.vnpayment.vn/apis/docs/bang-ma-loi/

The payment URL, the IPN and the return URL carry one signature: HMAC-SHA512 with the hash secret, lowercase hex,
over every `vnp_*` parameter except `vnp_SecureHash`/`vnp_SecureHashType`, sorted by key, each key and value
form-encoded (space → `+`, `%XX` upper case, as PHP's `urlencode` in VNPay's sample: `~` is `%7E`), joined as
`key=value` with `&`. An empty value is signed as `key=` like any other, as in VNPay's PHP sample (its Java and
.NET samples skip empty values; VNPay sends none, and we never build one).
`querydr` signs the `|`-joined values of fixed fields instead (`QUERYDR_REQUEST_FIELDS`, `QUERYDR_RESPONSE_FIELDS`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

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

SIGNATURE_FIELDS_EXCLUDED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})
QUERYDR_REQUEST_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                          "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
QUERYDR_RESPONSE_FIELDS = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
                           "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
                           "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode",
                           "vnp_PromotionAmount")
MAX_AMOUNT = (10**12 - 1) // 100  # vnp_Amount is Numeric[1,12] and carries the amount ×100
SUCCESS = "00"
QUERYDR_NOT_FOUND = "91"
QUERYDR_RETRY_LATER = frozenset({"94", "99"})  # a duplicate request id, VNPay's own error: ask again later
# vnp_TransactionStatus in a querydr answer: only "00" (paid) and "02" (failed) are final; "01" is not finished, and
# the rest (04 reversed, 05/06 refund in progress, 07 suspected fraud, 09 refund refused) wait for VNPay or an officer.
FINAL_STATUS = {"00": Outcome.SUCCEEDED, "02": Outcome.FAILED}
# The IPN reply; the messages are those of VNPay's sample IPN code (its spelling "Unknow error" included).
REPLIES = {
    SettleResult.CONFIRMED: ("00", "Confirm Success"),
    SettleResult.NOT_FOUND: ("01", "Order not found"),
    SettleResult.ALREADY_CONFIRMED: ("02", "Order already confirmed"),
    SettleResult.AMOUNT_MISMATCH: ("04", "invalid amount"),
    SettleResult.SIGNATURE_INVALID: ("97", "Invalid signature"),
    SettleResult.ERROR: ("99", "Unknow error"),
}

_AMOUNT = re.compile(r"[0-9]{1,12}")
_CODE = re.compile(r"[0-9]{2}")
_TXN_REF = re.compile(r"[A-Za-z0-9]{1,100}")
_TXN_NO = re.compile(r"[0-9]{1,15}")
_BANK_CODE = re.compile(r"[A-Za-z0-9_]{1,20}")


@dataclass(frozen=True)
class VNPayConfig:
    tmn_code: str
    hash_secret: str = field(repr=False)
    pay_url: str
    api_url: str  # querydr: .../merchant_webapi/api/transaction
    return_url: str
    version: str = "2.1.0"
    locale: str = "vn"
    order_type: str = "other"
    server_ip: str = "127.0.0.1"  # vnp_IpAddr of a querydr: the server that asks


def form_encode(text: str) -> str:
    return quote_plus(text, safe="").replace("~", "%7E")


def signed_query(params: Mapping[str, str]) -> str:
    """The text VNPay signs, which is also the payment URL's query string (without the signature)."""
    items = sorted((k, v) for k, v in params.items() if k.startswith("vnp_") and k not in SIGNATURE_FIELDS_EXCLUDED)
    return "&".join(f"{form_encode(key)}={form_encode(value)}" for key, value in items)


def hmac_sha512(secret: str, data: str) -> str:
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def sign(params: Mapping[str, str], secret: str) -> str:
    """`vnp_SecureHash` of a payment URL, an IPN or a return URL."""
    return hmac_sha512(secret, signed_query(params))


def querydr_checksum(values: Mapping[str, str], fields: tuple[str, ...], secret: str) -> str:
    return hmac_sha512(secret, "|".join(values.get(name, "") for name in fields))


def parse_amount(raw: str | None) -> int:
    """vnp_Amount (×100, ASCII digits, at most 12) as whole VND."""
    if raw is None or not _AMOUNT.fullmatch(raw):
        raise MalformedCallbackError("vnp_Amount is not 1 to 12 ASCII digits")
    hundredths = int(raw)
    if hundredths == 0 or hundredths % 100:
        raise MalformedCallbackError("vnp_Amount is not a positive whole number of VND ×100")
    return hundredths // 100


def _optional(params: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    value = params.get(name) or None
    if value is not None and not pattern.fullmatch(value):
        raise MalformedCallbackError(f"{name} is malformed")
    return value


def _pay_date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return parse_vn_timestamp(raw)
    except ValueError as exc:
        raise MalformedCallbackError("vnp_PayDate is not yyyyMMddHHmmss") from exc


class VNPayGateway:
    def __init__(self, config: VNPayConfig, http: JsonTransport = post_json, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 request_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self.name = GatewayName.VNPAY
        self.config = config
        self._http = http
        self._timeout_s = timeout_s
        self._request_id = request_id

    def payment_params(self, order: PaymentOrder) -> dict[str, str]:
        """The parameters of the payment URL, unsigned."""
        check_order_fields(order.txn_ref, order.amount, MAX_AMOUNT, order.client_ip, order.created_at, order.expires_at)
        return {
            "vnp_Version": self.config.version,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_Amount": str(order.amount * 100),
            "vnp_CreateDate": vn_timestamp(order.created_at),
            "vnp_ExpireDate": vn_timestamp(order.expires_at),
            "vnp_CurrCode": "VND",
            "vnp_IpAddr": order.client_ip,
            "vnp_Locale": self.config.locale,
            "vnp_OrderInfo": ascii_order_info(order.description, f"Thanh toan {order.txn_ref}"),
            "vnp_OrderType": self.config.order_type,
            "vnp_ReturnUrl": self.config.return_url,
            "vnp_TxnRef": order.txn_ref,
        }

    def payment_url(self, order: PaymentOrder) -> str:
        params = self.payment_params(order)
        return f"{self.config.pay_url}?{signed_query(params)}&vnp_SecureHash={sign(params, self.config.hash_secret)}"

    def verify_callback(self, params: Mapping[str, str]) -> GatewayReport:
        """The IPN (or return URL) once its signature verifies; success only when vnp_ResponseCode and
        vnp_TransactionStatus are both "00"."""
        given = params.get("vnp_SecureHash")
        if not given:
            raise SignatureError("vnp_SecureHash is missing")
        if not hex_matches(sign(params, self.config.hash_secret), given):
            raise SignatureError("vnp_SecureHash does not match")
        if params.get("vnp_TmnCode") != self.config.tmn_code:
            raise MalformedCallbackError("vnp_TmnCode is not ours")
        txn_ref = params.get("vnp_TxnRef", "")
        if not _TXN_REF.fullmatch(txn_ref):
            raise MalformedCallbackError("vnp_TxnRef is missing or malformed")
        response_code = params.get("vnp_ResponseCode", "")
        status = params.get("vnp_TransactionStatus", "")
        if not _CODE.fullmatch(response_code) or not _CODE.fullmatch(status):
            raise MalformedCallbackError("vnp_ResponseCode or vnp_TransactionStatus is not two digits")
        transaction_no = _optional(params, "vnp_TransactionNo", _TXN_NO)
        return GatewayReport(
            txn_ref=txn_ref,
            amount=parse_amount(params.get("vnp_Amount")),
            outcome=Outcome.SUCCEEDED if response_code == SUCCESS and status == SUCCESS else Outcome.FAILED,
            response_code=response_code,
            gateway_txn_no=None if transaction_no in (None, "0") else transaction_no,
            bank_code=_optional(params, "vnp_BankCode", _BANK_CODE),
            paid_at=_pay_date(params.get("vnp_PayDate")),
        )

    def reply(self, result: SettleResult) -> dict[str, Any]:
        code, message = REPLIES[result]
        return {"RspCode": code, "Message": message}

    def querydr_request(self, order: PaymentOrder, now: datetime) -> dict[str, str]:
        body = {
            "vnp_RequestId": self._request_id(),
            "vnp_Version": self.config.version,
            "vnp_Command": "querydr",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_TxnRef": order.txn_ref,
            "vnp_OrderInfo": f"Truy van GD {order.txn_ref}",
            "vnp_TransactionDate": vn_timestamp(order.created_at),  # the payment URL's vnp_CreateDate
            "vnp_CreateDate": vn_timestamp(now),
            "vnp_IpAddr": self.config.server_ip,
        }
        body["vnp_SecureHash"] = querydr_checksum(body, QUERYDR_REQUEST_FIELDS, self.config.hash_secret)
        return body

    def query(self, order: PaymentOrder, now: datetime) -> GatewayReport:
        """querydr. `response_code` is the transaction's vnp_TransactionStatus; an order VNPay does not know (91)
        is `Outcome.UNKNOWN` with amount 0."""
        answer = self._http(self.config.api_url, self.querydr_request(order, now), self._timeout_s)
        return self.read_querydr(answer, order)

    def read_querydr(self, answer: Mapping[str, Any], order: PaymentOrder) -> GatewayReport:
        try:
            values = {name: wire_text(answer.get(name)) for name in QUERYDR_RESPONSE_FIELDS}
        except ValueError as exc:
            raise SignatureError("a querydr answer field is neither text nor an integer") from exc
        if not hex_matches(querydr_checksum(values, QUERYDR_RESPONSE_FIELDS, self.config.hash_secret),
                           answer.get("vnp_SecureHash")):
            raise SignatureError("the querydr answer's vnp_SecureHash is missing or does not match")
        code = values["vnp_ResponseCode"]
        if code == QUERYDR_NOT_FOUND:
            return GatewayReport(txn_ref=order.txn_ref, amount=0, outcome=Outcome.UNKNOWN, response_code=code)
        if code in QUERYDR_RETRY_LATER:
            raise UpstreamUnavailableError(UNAVAILABLE, details={"gateway": "vnpay", "response_code": code})
        if code != SUCCESS:
            raise IntegrationError(f"VNPay từ chối truy vấn (mã {code}). (VNPay refused the query: {code}.)",
                                   details={"gateway": "vnpay", "response_code": code})
        if values["vnp_TxnRef"] != order.txn_ref or values["vnp_TmnCode"] != self.config.tmn_code:
            raise IntegrationError("VNPay trả lời về giao dịch khác. (VNPay answered about another order.)")
        status = values["vnp_TransactionStatus"]
        if not _CODE.fullmatch(status):
            raise MalformedCallbackError("vnp_TransactionStatus is not two digits")
        transaction_no = _optional(values, "vnp_TransactionNo", _TXN_NO)
        return GatewayReport(
            txn_ref=order.txn_ref,
            amount=parse_amount(values["vnp_Amount"]),
            outcome=FINAL_STATUS.get(status, Outcome.PENDING),
            response_code=status,
            gateway_txn_no=None if transaction_no in (None, "0") else transaction_no,
            bank_code=_optional(values, "vnp_BankCode", _BANK_CODE),
            paid_at=_pay_date(values["vnp_PayDate"]) if status == SUCCESS else None,
        )
