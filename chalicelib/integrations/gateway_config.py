"""Which payment gateways a container talks to, and with what keys: environment variables in the local stage, one
Secrets Manager secret in deployed stages. `load_gateways` is called once per container (the composition root
caches what it returns), so the secret is read once.

Local stage (`DVC_STAGE=local`): `VNPAY_TMN_CODE`, `VNPAY_HASH_SECRET`, `VNPAY_PAY_URL`, `VNPAY_API_URL`,
`VNPAY_RETURN_URL`, `PAYGOV_MERCHANT_CODE`, `PAYGOV_SECRET`, `PAYGOV_INIT_URL`, `PAYGOV_API_URL`, `PAYGOV_RETURN_URL`,
each with the public test default below (the README prints them, so anyone can sign a test IPN with any VNPay
library). `make run` and the test stack point the URLs at the local simulators (`infra/local/payment_sandbox.py`).

Deployed stages: the secret named by `PAYMENT_SECRET_ID` (default `dvc/{stage}/payment-gateways`) holds
`{"vnpay": {"tmn_code", "hash_secret", "pay_url", "api_url", "return_url"},
  "paygov": {"merchant_code", "secret", "init_url", "api_url", "return_url"}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import topology
from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.integrations.gateway_wire import UNAVAILABLE
from chalicelib.integrations.paygov import PayGovConfig, PayGovGateway
from chalicelib.integrations.payment_gateway import GatewayName, PaymentGateway
from chalicelib.integrations.vnpay import VNPayConfig, VNPayGateway

SECRET_ID_VARIABLE = "PAYMENT_SECRET_ID"
LOCAL_API = "http://127.0.0.1:8000"
LOCAL_DEFAULTS = {  # public test values: the local stage's keys are no secret
    "VNPAY_TMN_CODE": "DVCLOCAL",
    "VNPAY_HASH_SECRET": "LOCALTESTSECRETVNPAYNOTASECRET00",
    "VNPAY_PAY_URL": "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
    "VNPAY_API_URL": "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction",
    "VNPAY_RETURN_URL": f"{LOCAL_API}/v1/payments/vnpay/return",
    "PAYGOV_MERCHANT_CODE": "DVCLOCAL",
    "PAYGOV_SECRET": "LOCALTESTSECRETPAYGOVNOTASECRET0",
    "PAYGOV_INIT_URL": "http://127.0.0.1:8300/paygov/init",  # PayGov has no public sandbox: the local simulator's path
    "PAYGOV_API_URL": "http://127.0.0.1:8300/paygov/api/query",
    "PAYGOV_RETURN_URL": f"{LOCAL_API}/v1/payments/paygov/return",
}
MISCONFIGURED = "Cấu hình cổng thanh toán không hợp lệ. (The payment gateway configuration is invalid.)"


def secret_id(stage: str, environ: Mapping[str, str]) -> str:
    return environ.get(SECRET_ID_VARIABLE) or topology.PAYMENT_GATEWAYS_SECRET.physical(stage)


def local_configs(environ: Mapping[str, str]) -> tuple[VNPayConfig, PayGovConfig]:
    """The local stage's configuration: each variable, or its public default."""
    def get(name: str) -> str:
        return environ.get(name) or LOCAL_DEFAULTS[name]

    return (
        VNPayConfig(tmn_code=get("VNPAY_TMN_CODE"), hash_secret=get("VNPAY_HASH_SECRET"), pay_url=get("VNPAY_PAY_URL"),
                    api_url=get("VNPAY_API_URL"), return_url=get("VNPAY_RETURN_URL")),
        PayGovConfig(merchant_code=get("PAYGOV_MERCHANT_CODE"), secret=get("PAYGOV_SECRET"),
                     init_url=get("PAYGOV_INIT_URL"), api_url=get("PAYGOV_API_URL"), return_url=get("PAYGOV_RETURN_URL")),
    )


def _section(document: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, str]:
    section = document.get(name)
    if not isinstance(section, dict) or not all(isinstance(section.get(key), str) and section[key] for key in keys):
        raise IntegrationError(MISCONFIGURED, details={"section": name, "needs": list(keys)})
    return {key: section[key] for key in keys}


def secret_configs(secret_string: str) -> tuple[VNPayConfig, PayGovConfig]:
    """The deployed configuration from the secret's JSON text."""
    try:
        document = json.loads(secret_string)
    except ValueError as exc:
        raise IntegrationError(MISCONFIGURED) from exc
    if not isinstance(document, dict):
        raise IntegrationError(MISCONFIGURED)
    vnpay = _section(document, "vnpay", ("tmn_code", "hash_secret", "pay_url", "api_url", "return_url"))
    paygov = _section(document, "paygov", ("merchant_code", "secret", "init_url", "api_url", "return_url"))
    return VNPayConfig(**vnpay), PayGovConfig(**paygov)


def read_secret(client: Any, name: str) -> str:
    try:
        value = client.get_secret_value(SecretId=name).get("SecretString")
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("InternalServiceError", "ThrottlingException", "RequestTimeout"):
            raise UpstreamUnavailableError(UNAVAILABLE) from exc
        raise IntegrationError(MISCONFIGURED, details={"secret": name, "error": code}) from exc
    except BotoCoreError as exc:
        raise UpstreamUnavailableError(UNAVAILABLE) from exc
    if not isinstance(value, str):
        raise IntegrationError(MISCONFIGURED, details={"secret": name})
    return value


def load_gateways(settings_env: Mapping[str, str],
                  secretsmanager_client_factory: Callable[[], Any]) -> dict[GatewayName, PaymentGateway]:
    """Every gateway, configured for the stage in `settings_env` (`DVC_STAGE`); the factory is called (and the secret
    read) only in deployed stages."""
    stage = settings_env.get("DVC_STAGE", "local")
    if stage == "local":
        vnpay, paygov = local_configs(settings_env)
    else:
        vnpay, paygov = secret_configs(read_secret(secretsmanager_client_factory(), secret_id(stage, settings_env)))
    return {GatewayName.VNPAY: VNPayGateway(vnpay), GatewayName.PAYGOV: PayGovGateway(paygov)}
