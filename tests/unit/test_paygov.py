"""The national payment platform (PayGov): INIT, the callback, its reply and QUERY, with a fake transport (no I/O).

PayGov's message specification is not public. The rules tested here are those of `../shared/DOMAIN.md`
("Payments": SHA-256 over `|`-joined fields plus the secret; callback result code 00 = success; a QUERY message
checks status), with the field lists written out in `chalicelib/integrations/paygov.py`'s docstring; the checksums
below are computed from those lists literally, not with the module's code. The platform itself: https://www.pay.gov.vn
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError, ValidationError
from chalicelib.integrations.paygov import CALLBACK_SCHEMA, PayGovConfig, PayGovGateway
from chalicelib.integrations.payment_gateway import (
    GatewayName,
    MalformedCallbackError,
    Outcome,
    PaymentOrder,
    SettleResult,
    SignatureError,
)
from chalicelib.validation import validate

SECRET = "PAYGOVTESTSECRETFORUNITTESTS0123"
CONFIG = PayGovConfig(merchant_code="T46DVC", secret=SECRET, init_url="https://paygov.example/init",
                      api_url="https://paygov.example/api/query", return_url="https://dvc.example.gov.vn/v1/payments/paygov/return")
CREATED = datetime(2026, 11, 26, 3, 4, 5, tzinfo=UTC)
ORDER = PaymentOrder(txn_ref="G2026112600001", amount=150_000, description="Lệ phí hộ tịch",
                     created_at=CREATED, expires_at=CREATED + timedelta(minutes=15), client_ip="203.0.113.7")
NOW = CREATED + timedelta(minutes=20)

INIT_ORDER = ["version", "command", "merchantCode", "orderId", "amount", "currency", "orderInfo", "createDate",
              "expireDate", "clientIp", "locale", "returnUrl"]
CALLBACK_ORDER = ["merchantCode", "orderId", "amount", "currency", "transactionNo", "bankCode", "payDate",
                  "resultCode", "message"]
QUERY_ORDER = ["version", "command", "merchantCode", "requestId", "orderId", "createDate", "requestDate"]
ANSWER_ORDER = ["requestId", *CALLBACK_ORDER]


def sha256_pipe(values: Mapping[str, str], order: list[str], secret: str = SECRET) -> str:
    text = "|".join(values.get(name, "") for name in order) + "|" + secret
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def gateway(http: Any = None) -> PayGovGateway:
    return PayGovGateway(CONFIG, http or FakeTransport(), request_id=lambda: "REQ0001")


def callback(**overrides: str) -> dict[str, str]:
    values = {"merchantCode": "T46DVC", "orderId": "G2026112600001", "amount": "150000", "currency": "VND",
              "transactionNo": "PG8812345", "bankCode": "VCB", "payDate": "20261126101530", "resultCode": "00",
              "message": "Giao dich thanh cong"}
    values.update(overrides)
    return {**values, "checksum": sha256_pipe(values, CALLBACK_ORDER)}


# --- INIT ------------------------------------------------------------------------------------------------


def test_the_init_url_carries_the_order_in_whole_vnd_and_vietnam_time() -> None:
    url = gateway().payment_url(ORDER)
    assert url.startswith(CONFIG.init_url + "?")
    params = dict(parse_qsl(urlsplit(url).query, strict_parsing=True))
    assert params.pop("checksum") == sha256_pipe(params, INIT_ORDER)
    assert params == {
        "version": "1.0", "command": "INIT", "merchantCode": "T46DVC", "orderId": "G2026112600001",
        "amount": "150000", "currency": "VND", "orderInfo": "Le phi ho tich", "createDate": "20261126100405",
        "expireDate": "20261126101905", "clientIp": "203.0.113.7", "locale": "vi", "returnUrl": CONFIG.return_url,
    }


def test_the_gateway_is_named() -> None:
    assert gateway().name is GatewayName.PAYGOV


@pytest.mark.parametrize("change", [{"amount": 0}, {"amount": 10**12}, {"txn_ref": "G|1"}, {"client_ip": "a|b"}])
def test_an_order_paygov_would_not_take_is_a_programming_error(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        gateway().payment_url(replace(ORDER, **change))


# --- the callback ----------------------------------------------------------------------------------------


def test_a_callback_signed_as_documented_is_read() -> None:
    report = gateway().verify_callback(callback())
    assert (report.txn_ref, report.amount, report.outcome, report.response_code) == (
        "G2026112600001", 150_000, Outcome.SUCCEEDED, "00")
    assert report.gateway_txn_no == "PG8812345" and report.bank_code == "VCB"
    assert report.paid_at == datetime(2026, 11, 26, 3, 15, 30, tzinfo=UTC)


def test_optional_fields_are_signed_as_empty_text() -> None:
    values = {k: v for k, v in callback(resultCode="10").items() if k not in ("transactionNo", "bankCode", "payDate",
                                                                              "message", "checksum")}
    params = {**values, "checksum": sha256_pipe(values, CALLBACK_ORDER)}
    report = gateway().verify_callback(params)
    assert report.outcome is Outcome.FAILED and report.gateway_txn_no is None and report.paid_at is None


@pytest.mark.parametrize(("code", "outcome"), [("00", Outcome.SUCCEEDED), ("10", Outcome.FAILED),
                                               ("11", Outcome.FAILED), ("99", Outcome.FAILED)])
def test_only_result_code_00_is_a_success(code: str, outcome: Outcome) -> None:
    """DOMAIN.md: callback result code 00 = success."""
    assert gateway().verify_callback(callback(resultCode=code)).outcome is outcome


def test_the_checksum_is_compared_without_regard_to_case() -> None:
    params = callback()
    params["checksum"] = params["checksum"].upper()
    assert gateway().verify_callback(params).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize(("name", "value"), [("amount", "1500000"), ("orderId", "G2026112600002"),
                                             ("resultCode", "10"), ("message", "x"), ("payDate", "20261126101531")])
def test_a_tampered_field_fails_the_checksum(name: str, value: str) -> None:
    params = callback()
    params[name] = value
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


@pytest.mark.parametrize("given", [None, "", "0" * 63, "g" * 64])
def test_a_missing_or_garbled_checksum_fails(given: str | None) -> None:
    params = callback()
    if given is None:
        del params["checksum"]
    else:
        params["checksum"] = given
    with pytest.raises(SignatureError):
        gateway().verify_callback(params)


def test_a_field_holding_the_separator_is_refused_even_if_signed() -> None:
    """Fields re-cut at a `|` would keep the checksum: a value may never hold one."""
    with pytest.raises(SignatureError):
        gateway().verify_callback(callback(message="a|b"))


@pytest.mark.parametrize("change", [
    {"amount": "0150000"}, {"amount": "1234567890123"}, {"amount": "１５００００"}, {"amount": "150000.0"},
    {"currency": "USD"}, {"merchantCode": "OTHER"}, {"orderId": ""}, {"resultCode": "0"}, {"payDate": "2026-11-26"},
    {"bankCode": "V C B"},
])
def test_a_signed_callback_with_a_garbled_field_is_malformed(change: dict[str, str]) -> None:
    with pytest.raises(MalformedCallbackError):
        gateway().verify_callback(callback(**change))


@pytest.mark.parametrize(("result", "code"), [
    (SettleResult.CONFIRMED, "00"), (SettleResult.NOT_FOUND, "01"), (SettleResult.ALREADY_CONFIRMED, "02"),
    (SettleResult.AMOUNT_MISMATCH, "04"), (SettleResult.SIGNATURE_INVALID, "97"), (SettleResult.ERROR, "99"),
])
def test_each_settle_result_has_its_reply_code(result: SettleResult, code: str) -> None:
    reply = gateway().reply(result)
    assert reply["code"] == code and reply["message"]


# --- the callback's schema -------------------------------------------------------------------------------


def test_the_schema_accepts_a_callback() -> None:
    validate(CALLBACK_SCHEMA, callback())
    validate(CALLBACK_SCHEMA, {k: v for k, v in callback().items() if k not in ("message", "bankCode")})


@pytest.mark.parametrize("change", [
    {"extra": "1"}, {"amount": "1" * 13}, {"amount": "１５"}, {"amount": 150000}, {"checksum": "0" * 65},
    {"orderId": "G" * 101}, {"message": "x" * 256}, {"resultCode": "000"}, {"currency": "USD"},
])
def test_the_schema_refuses_a_callback_outside_its_bounds(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate(CALLBACK_SCHEMA, {**callback(), **change})


# --- QUERY -----------------------------------------------------------------------------------------------


@dataclass
class FakeTransport:
    answers: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None
    requests: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)

    def __call__(self, url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.requests.append((url, dict(body), timeout))
        if self.error is not None:
            raise self.error
        return self.answers.pop(0)


def answer(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"requestId": "REQ0001", **{k: v for k, v in callback().items() if k != "checksum"}}
    values.update(overrides)
    return {**values, "checksum": sha256_pipe({k: str(v) for k, v in values.items()}, ANSWER_ORDER)}


def test_the_query_is_signed_over_its_fields() -> None:
    http = FakeTransport(answers=[answer()])
    gateway(http).query(ORDER, NOW)
    url, body, _ = http.requests[0]
    assert url == CONFIG.api_url
    assert body["command"] == "QUERY" and body["orderId"] == "G2026112600001" and body["requestId"] == "REQ0001"
    assert body["createDate"] == "20261126100405" and body["requestDate"] == "20261126102405"
    assert body["checksum"] == sha256_pipe(body, QUERY_ORDER)


@pytest.mark.parametrize(("code", "outcome"), [("00", Outcome.SUCCEEDED), ("01", Outcome.PENDING),
                                               ("02", Outcome.UNKNOWN), ("10", Outcome.FAILED)])
def test_the_query_answer_maps_to_an_outcome(code: str, outcome: Outcome) -> None:
    report = gateway(FakeTransport(answers=[answer(resultCode=code)])).query(ORDER, NOW)
    assert report.outcome is outcome and report.response_code == code


def test_an_answer_for_an_unknown_order_may_leave_the_amount_out() -> None:
    reply = answer(resultCode="02", amount="", currency="", transactionNo="", bankCode="", payDate="", message="")
    assert gateway(FakeTransport(answers=[reply])).query(ORDER, NOW).outcome is Outcome.UNKNOWN


@pytest.mark.parametrize(("change", "error"), [
    ({"resultCode": "99"}, UpstreamUnavailableError), ({"resultCode": "97"}, IntegrationError),
    ({"resultCode": "96"}, IntegrationError), ({"requestId": "REQ0002"}, IntegrationError),
    ({"orderId": "G2026112600002"}, IntegrationError), ({"merchantCode": "OTHER"}, IntegrationError),
])
def test_query_refusals_and_answers_about_something_else_are_integration_errors(
        change: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        gateway(FakeTransport(answers=[answer(**change)])).query(ORDER, NOW)


def test_a_query_answer_that_does_not_verify_is_refused() -> None:
    tampered = {**answer(), "resultCode": "00", "amount": "1"}
    with pytest.raises(SignatureError):
        gateway(FakeTransport(answers=[tampered])).query(ORDER, NOW)


def test_an_unreachable_paygov_is_upstream_unavailable() -> None:
    with pytest.raises(UpstreamUnavailableError):
        gateway(FakeTransport(error=UpstreamUnavailableError("down"))).query(ORDER, NOW)
