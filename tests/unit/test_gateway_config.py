"""Gateway configuration: environment variables with public defaults locally, one Secrets Manager secret elsewhere."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.integrations.gateway_config import LOCAL_DEFAULTS, load_gateways, local_configs
from chalicelib.integrations.paygov import PayGovGateway
from chalicelib.integrations.payment_gateway import GatewayName
from chalicelib.integrations.vnpay import VNPayGateway

SECRET = {
    "vnpay": {"tmn_code": "PRODTMN1", "hash_secret": "S" * 32, "pay_url": "https://pay.vnpay.vn/vpcpay.html",
              "api_url": "https://merchant.vnpay.vn/merchant_webapi/api/transaction",
              "return_url": "https://dvc.example.gov.vn/v1/payments/vnpay/return"},
    "paygov": {"merchant_code": "T46DVC", "secret": "P" * 32, "init_url": "https://pay.gov.vn/init",
               "api_url": "https://pay.gov.vn/api/query", "return_url": "https://dvc.example.gov.vn/v1/payments/paygov/return"},
}


@dataclass
class FakeSecretsManager:
    secret: str | None = json.dumps(SECRET)
    error: Exception | None = None
    asked: list[str] = field(default_factory=list)

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.asked.append(SecretId)
        if self.error is not None:
            raise self.error
        return {"SecretString": self.secret}


def never() -> Any:
    raise AssertionError("the local stage reads no secret")


def test_the_local_stage_uses_the_public_defaults() -> None:
    gateways = load_gateways({"DVC_STAGE": "local"}, never)
    vnpay, paygov = gateways[GatewayName.VNPAY], gateways[GatewayName.PAYGOV]
    assert isinstance(vnpay, VNPayGateway) and isinstance(paygov, PayGovGateway)
    assert vnpay.config.tmn_code == "DVCLOCAL" and vnpay.config.hash_secret == LOCAL_DEFAULTS["VNPAY_HASH_SECRET"]
    assert len(vnpay.config.hash_secret) == 32 and paygov.config.merchant_code == "DVCLOCAL"


def test_the_local_stage_reads_each_variable() -> None:
    vnpay, paygov = local_configs({"VNPAY_TMN_CODE": "MYTMN123", "VNPAY_HASH_SECRET": "x" * 32,
                                   "VNPAY_PAY_URL": "http://127.0.0.1:9/pay", "PAYGOV_SECRET": "y" * 32})
    assert (vnpay.tmn_code, vnpay.hash_secret, vnpay.pay_url) == ("MYTMN123", "x" * 32, "http://127.0.0.1:9/pay")
    assert paygov.secret == "y" * 32 and paygov.init_url == LOCAL_DEFAULTS["PAYGOV_INIT_URL"]


def test_a_secret_is_not_in_a_configs_repr() -> None:
    vnpay, paygov = local_configs({})
    assert vnpay.hash_secret not in repr(vnpay) and paygov.secret not in repr(paygov)


def test_a_deployed_stage_reads_the_secret_named_for_it_once() -> None:
    client = FakeSecretsManager()
    gateways = load_gateways({"DVC_STAGE": "prod"}, lambda: client)
    assert client.asked == ["dvc/prod/payment-gateways"]
    vnpay = gateways[GatewayName.VNPAY]
    assert isinstance(vnpay, VNPayGateway) and vnpay.config.tmn_code == "PRODTMN1"


def test_the_secret_name_can_be_set() -> None:
    client = FakeSecretsManager()
    load_gateways({"DVC_STAGE": "dev", "PAYMENT_SECRET_ID": "custom/name"}, lambda: client)
    assert client.asked == ["custom/name"]


@pytest.mark.parametrize("secret", ["not json", "[]", json.dumps({"vnpay": SECRET["vnpay"]}),
                                    json.dumps({**SECRET, "vnpay": {**SECRET["vnpay"], "hash_secret": ""}}), None])
def test_an_incomplete_secret_is_a_configuration_error(secret: str | None) -> None:
    with pytest.raises(IntegrationError) as caught:
        load_gateways({"DVC_STAGE": "prod"}, lambda: FakeSecretsManager(secret=secret))
    assert "S" * 32 not in str(caught.value.details)


@pytest.mark.parametrize(("error", "expected"), [
    (ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetSecretValue"), IntegrationError),
    (ClientError({"Error": {"Code": "AccessDeniedException"}}, "GetSecretValue"), IntegrationError),
    (ClientError({"Error": {"Code": "ThrottlingException"}}, "GetSecretValue"), UpstreamUnavailableError),
    (EndpointConnectionError(endpoint_url="https://secretsmanager"), UpstreamUnavailableError),
])
def test_secrets_manager_failures_are_translated(error: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected):
        load_gateways({"DVC_STAGE": "prod"}, lambda: FakeSecretsManager(error=error))
