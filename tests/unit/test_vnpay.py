"""VNPay 2.1.0: the payment URL, the IPN, its reply and querydr, checked against an independent implementation of
VNPay's documented algorithm (`tests/vnpay_reference.py`) and a fake transport (no I/O).

Protocol sources, cited per test below:
  [PAY]   https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html
  [HASH]  https://sandbox.vnpayment.vn/apis/docs/chuyen-doi-thuat-toan/changeTypeHash.html
  [QUERY] https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html
  [CODES] https://sandbox.vnpayment.vn/apis/docs/bang-ma-loi/
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.integrations.payment_gateway import (
    GatewayName,
    MalformedCallbackError,
    Outcome,
    PaymentOrder,
    SettleResult,
    SignatureError,
)
from chalicelib.integrations.vnpay import VNPayConfig, VNPayGateway
from tests import vnpay_reference as reference

SECRET = "TESTHASHSECRETFORUNITTESTS012345"
CONFIG = VNPayConfig(
    tmn_code="TESTTMN1",
    hash_secret=SECRET,
    pay_url="https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
    api_url="https://sandbox.vnpayment.vn/merchant_webapi/api/transaction",
    return_url="https://dvc.example.gov.vn/v1/payments/vnpay/return",
)
CREATED = datetime(2026, 11, 26, 3, 4, 5, tzinfo=UTC)  # 10:04:05 in Hà Nội
ORDER = PaymentOrder(txn_ref="P2026112600001", amount=150_000, description="Lệ phí cấp giấy phép xây dựng",
                     created_at=CREATED, expires_at=CREATED + timedelta(minutes=15), client_ip="203.0.113.7")
NOW = CREATED + timedelta(minutes=20)


def gateway(http: Any = None) -> VNPayGateway:
    return VNPayGateway(CONFIG, http or FakeTransport(), request_id=lambda: "REQ0001")


def url_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True))


def ipn(**overrides: str) -> dict[str, str]:
    """An IPN as VNPay sends it (the parameters of [PAY]'s IPN sample), signed by the reference."""
    params = {
        "vnp_Amount": "15000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14226112", "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Le phi cap giay phep xay dung", "vnp_PayDate": "20261126101530", "vnp_ResponseCode": "00",
        "vnp_TmnCode": "TESTTMN1", "vnp_TransactionNo": "14226112", "vnp_TransactionStatus": "00",
        "vnp_TxnRef": "P2026112600001",
    }
    params.update(overrides)
    return reference.signed(params, SECRET)


# --- the payment URL -------------------------------------------------------------------------------------


def test_the_payment_url_carries_the_order_as_vnpay_documents_it() -> None:
    """[PAY] "Danh sách tham số": vnp_Amount is the amount ×100, dates are yyyyMMddHHmmss GMT+7, vnp_Command=pay,
    vnp_CurrCode=VND, vnp_OrderInfo Vietnamese without diacritics; [HASH]: version 2.1.0, no vnp_SecureHashType."""
    url = gateway().payment_url(ORDER)
    assert url.startswith(CONFIG.pay_url + "?")
    params = url_params(url)
    assert params.pop("vnp_SecureHash")
    assert params == {
        "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": "TESTTMN1", "vnp_Amount": "15000000",
        "vnp_CreateDate": "20261126100405", "vnp_ExpireDate": "20261126101905", "vnp_CurrCode": "VND",
        "vnp_IpAddr": "203.0.113.7", "vnp_Locale": "vn", "vnp_OrderInfo": "Le phi cap giay phep xay dung",
        "vnp_OrderType": "other", "vnp_ReturnUrl": CONFIG.return_url, "vnp_TxnRef": "P2026112600001",
    }


def test_the_payment_url_is_signed_exactly_as_the_reference_signs_it() -> None:
    """[PAY] sample code: HMAC-SHA512 (lowercase hex) over the ksorted, urlencoded vnp_* parameters."""
    params = url_params(gateway().payment_url(ORDER))
    given = params.pop("vnp_SecureHash")
    assert given == reference.secure_hash(params, SECRET)
    assert len(given) == 128 and given == given.lower()


def test_the_query_string_is_sorted_and_form_encoded_like_the_signed_text() -> None:
    """[PAY] sample URL: keys sorted, values form-encoded (space → +, ':' and '/' as %3A %2F)."""
    query = urlsplit(gateway().payment_url(ORDER)).query
    keys = [pair.split("=", 1)[0] for pair in query.split("&")]
    assert keys[:-1] == sorted(keys[:-1]) and keys[-1] == "vnp_SecureHash"
    assert "vnp_OrderInfo=Le+phi+cap+giay+phep+xay+dung" in query
    assert "vnp_ReturnUrl=https%3A%2F%2Fdvc.example.gov.vn%2Fv1%2Fpayments%2Fvnpay%2Freturn" in query
    assert query.rsplit("&vnp_SecureHash=", 1)[0] == reference.hash_data(url_params("?" + query))


@pytest.mark.parametrize(("description", "order_info"), [
    ("Nộp phí, lệ phí hồ sơ 000.00.12.H46-261126-0001", "Nop phi, le phi ho so 000.00.12.H46-261126-0001"),
    ("Đăng ký kinh doanh | <script> & ~*!", "Dang ky kinh doanh script"),
    ("   ", "Thanh toan P2026112600001"),
])
def test_the_order_description_becomes_ascii_vnpay_accepts(description: str, order_info: str) -> None:
    """[PAY] vnp_OrderInfo: "Tiếng Việt không dấu và không bao gồm các ký tự đặc biệt"."""
    params = url_params(gateway().payment_url(replace(ORDER, description=description)))
    assert params["vnp_OrderInfo"] == order_info


@pytest.mark.parametrize("change", [
    {"amount": 0}, {"amount": -1}, {"amount": 10**10}, {"txn_ref": "P-1"}, {"txn_ref": ""},
    {"created_at": datetime(2026, 11, 26, 3, 4, 5)}, {"expires_at": CREATED}, {"client_ip": "not an ip"},
])
def test_an_order_no_gateway_would_take_is_a_programming_error(change: dict[str, Any]) -> None:
    """[PAY] vnp_Amount Numeric[1,12] (×100), vnp_TxnRef alphanumeric, vnp_IpAddr an address."""
    with pytest.raises(ValueError):
        gateway().payment_url(replace(ORDER, **change))


def test_the_largest_amount_fits_twelve_digits() -> None:
    params = url_params(gateway().payment_url(replace(ORDER, amount=9_999_999_999)))
    assert params["vnp_Amount"] == "999999999900"


# --- the IPN ---------------------------------------------------------------------------------------------


def test_an_ipn_signed_by_the_reference_implementation_is_read() -> None:
    """[PAY] "Code IPN URL": amount ÷100, success only when vnp_ResponseCode and vnp_TransactionStatus are 00;
    vnp_PayDate is GMT+7."""
    report = gateway().verify_callback(ipn())
    assert report.txn_ref == "P2026112600001"
    assert report.amount == 150_000
    assert report.outcome is Outcome.SUCCEEDED
    assert report.response_code == "00"
    assert report.gateway_txn_no == "14226112"
    assert report.bank_code == "NCB"
    assert report.paid_at == datetime(2026, 11, 26, 3, 15, 30, tzinfo=UTC)


def test_the_gateway_is_named() -> None:
    assert gateway().name is GatewayName.VNPAY


def test_the_signature_is_compared_without_regard_to_case() -> None:
    params = ipn()
    params["vnp_SecureHash"] = params["vnp_SecureHash"].upper()
    assert gateway().verify_callback(params).outcome is Outcome.SUCCEEDED


def test_vnp_secure_hash_type_is_not_signed() -> None:
    """[HASH]: vnp_SecureHashType is left out of the signed data (2.1.0 does not send it; older senders did)."""
    params = {**ipn(), "vnp_SecureHashType": "HmacSHA512"}
    assert gateway().verify_callback(params).outcome is Outcome.SUCCEEDED


def test_parameters_other_than_vnp_are_not_signed() -> None:
    """[PAY] sample IPN code keeps only keys starting with vnp_."""
    assert gateway().verify_callback({**ipn(), "utm_source": "x"}).txn_ref == "P2026112600001"


@pytest.mark.parametrize("order_info", [
    "Thanh toán lệ phí: hồ sơ 000.00.12.H46",  # UTF-8 bytes as %XX
    "Le phi  hai  dau cach",  # spaces as +
    "a+b=c&d/e?f#g",  # the characters that are structure in a query string
    "tilde~star*bang!(paren)'quote'",  # where encoders differ: PHP's urlencode escapes them all
])
def test_values_are_form_encoded_as_vnpay_encodes_them(order_info: str) -> None:
    """[PAY] PHP sample: urlencode of key and value (space → +, everything but letters, digits and -_. as %XX)."""
    assert gateway().verify_callback(ipn(vnp_OrderInfo=order_info)).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("name", "value"), [
    ("vnp_Amount", "150000000"), ("vnp_TxnRef", "P2026112600002"), ("vnp_ResponseCode", "24"),
    ("vnp_TransactionStatus", "02"), ("vnp_OrderInfo", "Le phi khac"), ("vnp_Extra", "1"), ("vnp_PayDate", "20261126101531"),
])
def test_a_tampered_parameter_fails_the_signature(name: str, value: str) -> None:
    """[PAY]: the merchant checks the checksum first and answers 97 when it does not match."""
    params = ipn()
    params[name] = value
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


def test_a_removed_parameter_fails_the_signature() -> None:
    params = ipn()
    del params["vnp_BankTranNo"]
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


@pytest.mark.parametrize("given", [None, "", "zz" * 64, "ab" * 63, "ab" * 65, "é" * 128])
def test_a_missing_or_garbled_hash_fails(given: str | None) -> None:
    params = ipn()
    if given is None:
        del params["vnp_SecureHash"]
    else:
        params["vnp_SecureHash"] = given
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


def test_an_ipn_signed_with_another_secret_fails() -> None:
    params = reference.signed({k: v for k, v in ipn().items() if k != "vnp_SecureHash"}, "ANOTHERSECRET")
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


@pytest.mark.parametrize(("response_code", "status", "outcome"), [
    ("00", "00", Outcome.SUCCEEDED),
    ("00", "02", Outcome.FAILED),
    ("24", "02", Outcome.FAILED),  # [CODES] 24: the payer cancelled
    ("07", "00", Outcome.FAILED),  # [CODES] 07: money taken, transaction suspected: not a success
    ("51", "02", Outcome.FAILED),
    ("00", "01", Outcome.FAILED),
])
def test_success_needs_both_codes_00(response_code: str, status: str, outcome: Outcome) -> None:
    """[PAY] IPN sample: `if ($inputData['vnp_ResponseCode'] == '00' && $inputData['vnp_TransactionStatus'] == '00')`."""
    report = gateway().verify_callback(ipn(vnp_ResponseCode=response_code, vnp_TransactionStatus=status))
    assert report.outcome is outcome
    assert report.response_code == response_code


@pytest.mark.parametrize("amount", [
    "", "0", "-15000000", "15000050", "1.5E7", "150000.00", " 15000000", "1234567890123", "１５００００００", "²５00",
    "15000000\n",
])
def test_an_amount_that_is_not_whole_vnd_times_100_in_ascii_digits_is_malformed(amount: str) -> None:
    """[PAY] vnp_Amount Numeric[1,12], the amount ×100."""
    with pytest.raises(MalformedCallbackError):
        gateway().verify_callback(ipn(vnp_Amount=amount))


def test_a_huge_signed_amount_is_malformed_not_a_huge_number() -> None:
    with pytest.raises(MalformedCallbackError):
        gateway().verify_callback(ipn(vnp_Amount="9" * 5000))


@pytest.mark.parametrize("change", [
    {"vnp_TxnRef": ""}, {"vnp_TxnRef": "P-1"}, {"vnp_TmnCode": "OTHERTMN"}, {"vnp_PayDate": "2026-11-26"},
    {"vnp_PayDate": "20261326101530"}, {"vnp_ResponseCode": "0"}, {"vnp_TransactionStatus": ""},
    {"vnp_BankCode": "N C B"}, {"vnp_TransactionNo": "12ab"},
])
def test_a_signed_ipn_with_a_garbled_field_is_malformed(change: dict[str, str]) -> None:
    with pytest.raises(MalformedCallbackError):
        gateway().verify_callback(ipn(**change))


def test_a_failed_payment_has_no_transaction_number() -> None:
    """[PAY]: VNPay sends vnp_TransactionNo=0 when no transaction was made."""
    report = gateway().verify_callback(ipn(vnp_ResponseCode="24", vnp_TransactionStatus="02", vnp_TransactionNo="0"))
    assert report.gateway_txn_no is None and report.outcome is Outcome.FAILED


# --- the IPN's reply -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("result", "code", "message"), [
    (SettleResult.CONFIRMED, "00", "Confirm Success"),
    (SettleResult.NOT_FOUND, "01", "Order not found"),
    (SettleResult.ALREADY_CONFIRMED, "02", "Order already confirmed"),
    (SettleResult.AMOUNT_MISMATCH, "04", "invalid amount"),
    (SettleResult.SIGNATURE_INVALID, "97", "Invalid signature"),
    (SettleResult.ERROR, "99", "Unknow error"),
])
def test_each_settle_result_is_answered_with_vnpays_code(result: SettleResult, code: str, message: str) -> None:
    """[PAY] "Code IPN URL": the merchant answers {"RspCode", "Message"} (messages as in VNPay's vnpay_ipn.php)."""
    assert gateway().reply(result) == {"RspCode": code, "Message": message}


# --- querydr ---------------------------------------------------------------------------------------------


@dataclass
class FakeTransport:
    """The gateway's HTTP: records each request and answers from `answers` (or raises `error`)."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None
    requests: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)

    def __call__(self, url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.requests.append((url, dict(body), timeout))
        if self.error is not None:
            raise self.error
        return self.answers.pop(0)


def querydr_answer(**overrides: Any) -> dict[str, Any]:
    """A querydr answer as [QUERY] documents it, signed by the reference over the documented field order."""
    values: dict[str, Any] = {
        "vnp_ResponseId": "a7c2e6d3f1b84a5e9d0c", "vnp_Command": "querydr", "vnp_ResponseCode": "00",
        "vnp_Message": "QueryDR Success", "vnp_TmnCode": "TESTTMN1", "vnp_TxnRef": "P2026112600001",
        "vnp_Amount": "15000000", "vnp_BankCode": "NCB", "vnp_PayDate": "20261126101530",
        "vnp_TransactionNo": "14226112", "vnp_TransactionType": "01", "vnp_TransactionStatus": "00",
        "vnp_OrderInfo": "Le phi cap giay phep xay dung", "vnp_PromotionCode": "", "vnp_PromotionAmount": "",
    }
    values.update(overrides)
    as_text = {k: "" if v is None else str(v) for k, v in values.items()}
    return {**values, "vnp_SecureHash": reference.pipe_hash(as_text, reference.QUERYDR_RESPONSE_ORDER, SECRET)}


def test_the_querydr_request_is_signed_over_the_documented_field_order() -> None:
    """[QUERY]: POST JSON to the API URL; checksum = HMAC-SHA512 of vnp_RequestId|vnp_Version|vnp_Command|
    vnp_TmnCode|vnp_TxnRef|vnp_TransactionDate|vnp_CreateDate|vnp_IpAddr|vnp_OrderInfo; vnp_TransactionDate is the
    payment's vnp_CreateDate."""
    http = FakeTransport(answers=[querydr_answer()])
    gateway(http).query(ORDER, NOW)
    url, body, timeout = http.requests[0]
    assert url == CONFIG.api_url and 0 < timeout <= 10
    assert body["vnp_Command"] == "querydr" and body["vnp_Version"] == "2.1.0" and body["vnp_TmnCode"] == "TESTTMN1"
    assert body["vnp_RequestId"] == "REQ0001" and body["vnp_TxnRef"] == "P2026112600001"
    assert body["vnp_TransactionDate"] == "20261126100405"
    assert body["vnp_CreateDate"] == "20261126102405"
    assert body["vnp_OrderInfo"].isascii() and body["vnp_IpAddr"]
    assert body["vnp_SecureHash"] == reference.pipe_hash(body, reference.QUERYDR_REQUEST_ORDER, SECRET)


@pytest.mark.parametrize(("status", "outcome"), [
    ("00", Outcome.SUCCEEDED), ("01", Outcome.PENDING), ("02", Outcome.FAILED), ("04", Outcome.PENDING),
    ("07", Outcome.PENDING),
])
def test_the_querydr_transaction_status_maps_to_an_outcome(status: str, outcome: Outcome) -> None:
    """[QUERY] vnp_TransactionStatus: 00 success, 01 not finished, 02 error; 04 reversed and 07 suspected wait."""
    report = gateway(FakeTransport(answers=[querydr_answer(vnp_TransactionStatus=status)])).query(ORDER, NOW)
    assert report.outcome is outcome and report.response_code == status and report.amount == 150_000
    assert report.paid_at == (datetime(2026, 11, 26, 3, 15, 30, tzinfo=UTC) if status == "00" else None)


def test_an_order_vnpay_does_not_know_is_unknown() -> None:
    """[QUERY] vnp_ResponseCode 91: "Không tìm thấy giao dịch yêu cầu" (transaction not found)."""
    answer = querydr_answer(vnp_ResponseCode="91", vnp_Message="Not found", vnp_Amount="", vnp_TransactionStatus="")
    report = gateway(FakeTransport(answers=[answer])).query(ORDER, NOW)
    assert report.outcome is Outcome.UNKNOWN and report.response_code == "91"


def test_numbers_in_the_querydr_answer_are_signed_as_their_digits() -> None:
    answer = querydr_answer(vnp_Amount=15000000, vnp_TransactionNo=14226112)
    assert gateway(FakeTransport(answers=[answer])).query(ORDER, NOW).gateway_txn_no == "14226112"


@pytest.mark.parametrize("tamper", ["vnp_Amount", "vnp_TransactionStatus", "vnp_SecureHash", "missing"])
def test_a_querydr_answer_that_does_not_verify_is_refused(tamper: str) -> None:
    """[QUERY]: the merchant checks the answer's checksum over the documented response fields."""
    answer = querydr_answer()
    if tamper == "missing":
        del answer["vnp_SecureHash"]
    else:
        answer[tamper] = "02" if tamper == "vnp_TransactionStatus" else "2" + str(answer[tamper])[1:]
    with pytest.raises(SignatureError):
        gateway(FakeTransport(answers=[answer])).query(ORDER, NOW)


@pytest.mark.parametrize(("code", "error"), [
    ("99", UpstreamUnavailableError), ("94", UpstreamUnavailableError), ("97", IntegrationError),
    ("02", IntegrationError), ("03", IntegrationError),
])
def test_querydr_refusals_are_integration_errors(code: str, error: type[Exception]) -> None:
    """[QUERY] vnp_ResponseCode: 02 merchant invalid, 03 wrong format, 94 duplicate request, 97 bad checksum, 99 other."""
    with pytest.raises(error):
        gateway(FakeTransport(answers=[querydr_answer(vnp_ResponseCode=code)])).query(ORDER, NOW)


def test_a_querydr_answer_about_another_order_is_refused() -> None:
    with pytest.raises(IntegrationError):
        gateway(FakeTransport(answers=[querydr_answer(vnp_TxnRef="P2026112600002")])).query(ORDER, NOW)


def test_an_unreachable_vnpay_is_upstream_unavailable() -> None:
    http = FakeTransport(error=UpstreamUnavailableError("down"))
    with pytest.raises(UpstreamUnavailableError):
        gateway(http).query(ORDER, NOW)
