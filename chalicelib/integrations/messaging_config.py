"""Which messaging providers a container uses, in which order, with what keys; and the delivery receipts' signatures.

Local stage: environment variables with public test defaults (`make run` and the test stack point the HTTP
providers at the local simulator, `infra/local/notify_sandbox.py`): `VNPT_SMS_URL`, `VNPT_SMS_USERNAME`,
`VNPT_SMS_PASSWORD`, `VNPT_SMS_BRANDNAME`, `ZALO_ZNS_URL`, `ZALO_ACCESS_TOKEN`, and `NOTIFY_WEBHOOK_SECRETS`, a JSON
object of `whsec_…` secrets by provider (`{"vnpt": "whsec_…", "zalo": "whsec_…"}`).
Deployed stages: the Secrets Manager secret `NOTIFY_SECRET_ID` (default `dvc/{stage}/notification-providers`) holds
`{"vnpt": {"url", "username", "password", "brandname"}, "zalo": {"url", "access_token"},
  "webhook_secrets": {"vnpt": "whsec_…", "zalo": "whsec_…"}}`.
Every stage: `SMS_PROVIDERS` (failover order, default `vnpt,sns`), `NOTIFY_EMAIL_SENDER` (an SES-verified address),
`SMS_SENDER_ID` (SNS), `NOTIFY_RETRY_ATTEMPTS` and `NOTIFY_RETRY_BASE_MS` (per provider, doubling, capped).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook

from chalicelib import topology
from chalicelib.domain.errors import IntegrationError
from chalicelib.domain.notifications import Channel
from chalicelib.integrations.gateway_config import read_secret
from chalicelib.integrations.messaging import (
    BrandnameConfig,
    BrandnameSms,
    MessageProvider,
    SesEmail,
    SnsSms,
    ZaloConfig,
    ZaloZns,
)

SECRET_ID_VARIABLE = "NOTIFY_SECRET_ID"
LOCAL_SANDBOX = "http://127.0.0.1:8400"
LOCAL_DEFAULTS = {  # public test values: the local stage's keys are no secret
    "VNPT_SMS_URL": f"{LOCAL_SANDBOX}/vnpt/sms/send",
    "VNPT_SMS_USERNAME": "dvclocal",
    "VNPT_SMS_PASSWORD": "LOCALTESTPASSWORDVNPTNOTASECRET0",
    "VNPT_SMS_BRANDNAME": "DVC-LOCAL",
    "ZALO_ZNS_URL": f"{LOCAL_SANDBOX}/zalo/message/template",
    "ZALO_ACCESS_TOKEN": "LOCALTESTZALOTOKENNOTASECRET0000",
    # base64 of "local-test-webhook-secret-vnpt!!" and "…-zalo!!": test values, printed in the README
    "NOTIFY_WEBHOOK_SECRETS": json.dumps({"vnpt": "whsec_bG9jYWwtdGVzdC13ZWJob29rLXNlY3JldC12bnB0ISE=",
                                          "zalo": "whsec_bG9jYWwtdGVzdC13ZWJob29rLXNlY3JldC16YWxvISE="}),
}
MISCONFIGURED = "Cấu hình nhà cung cấp tin nhắn không hợp lệ. (The messaging configuration is invalid.)"


class ReceiptSignatureError(Exception):
    """A delivery receipt whose Standard Webhooks signature does not verify, is outside the five-minute window, or
    comes from a provider we have no secret for."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # per provider, before failing over to the next
    base_delay_s: float = 0.2  # doubled after each failed attempt
    max_delay_s: float = 2.0

    def delay(self, attempt: int) -> float:
        """The wait after the `attempt`-th failed call (1-based)."""
        return float(min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s))


@dataclass
class Messaging:
    """The providers of each channel in failover order, the retry policy, and the receipt verifiers."""

    providers: dict[Channel, list[MessageProvider]]
    retry: RetryPolicy
    webhook_secrets: dict[str, str]

    def verify_receipt(self, provider: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Return once the receipt's signature verifies (Standard Webhooks: `webhook-id`, `webhook-timestamp`
        within five minutes, `webhook-signature`); `ReceiptSignatureError` otherwise."""
        secret = self.webhook_secrets.get(provider)
        if not secret:
            raise ReceiptSignatureError("no secret for this provider")
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except Exception as exc:  # the library raises ValueError, binascii.Error, … on malformed headers too
            raise ReceiptSignatureError(type(exc).__name__) from exc


def _section(document: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, str]:
    section = document.get(name)
    if not isinstance(section, dict) or not all(isinstance(section.get(k), str) and section[k] for k in keys):
        raise IntegrationError(MISCONFIGURED, details={"section": name, "needs": list(keys)})
    return {k: section[k] for k in keys}


def local_document(env: Mapping[str, str]) -> dict[str, Any]:
    def get(name: str) -> str:
        return env.get(name) or LOCAL_DEFAULTS[name]

    return {
        "vnpt": {"url": get("VNPT_SMS_URL"), "username": get("VNPT_SMS_USERNAME"), "password": get("VNPT_SMS_PASSWORD"),
                 "brandname": get("VNPT_SMS_BRANDNAME")},
        "zalo": {"url": get("ZALO_ZNS_URL"), "access_token": get("ZALO_ACCESS_TOKEN")},
        "webhook_secrets": json.loads(get("NOTIFY_WEBHOOK_SECRETS")),
    }


def load_messaging(env: Mapping[str, str], client: Callable[[str], Any]) -> Messaging:
    """The stage's providers; `client(service)` builds the boto3 clients (SNS, SES, and Secrets Manager, read once,
    in deployed stages only)."""
    stage = env.get("DVC_STAGE", "local")
    if stage == "local":
        document = local_document(env)
    else:
        name = env.get(SECRET_ID_VARIABLE) or topology.NOTIFICATION_PROVIDERS_SECRET.physical(stage)
        try:
            document = json.loads(read_secret(client("secretsmanager"), name))
        except ValueError as exc:
            raise IntegrationError(MISCONFIGURED) from exc
    if not isinstance(document, dict):
        raise IntegrationError(MISCONFIGURED)
    secrets = document.get("webhook_secrets") or {}
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise IntegrationError(MISCONFIGURED, details={"section": "webhook_secrets"})
    sms: dict[str, MessageProvider] = {
        "vnpt": BrandnameSms(BrandnameConfig(**_section(document, "vnpt", ("url", "username", "password", "brandname")))),
        "sns": SnsSms(client("sns"), env.get("SMS_SENDER_ID", "")),
    }
    order = [name.strip() for name in env.get("SMS_PROVIDERS", "vnpt,sns").split(",") if name.strip()]
    if not order or any(name not in sms for name in order):
        raise IntegrationError(MISCONFIGURED, details={"SMS_PROVIDERS": order, "known": sorted(sms)})
    providers: dict[Channel, list[MessageProvider]] = {
        Channel.SMS: [sms[name] for name in order],
        Channel.EMAIL: [SesEmail(client("ses"), env.get("NOTIFY_EMAIL_SENDER", "thongbao@dichvucong.local"))],
        Channel.ZALO: [ZaloZns(ZaloConfig(**_section(document, "zalo", ("url", "access_token"))))],
    }
    retry = RetryPolicy(attempts=int(env.get("NOTIFY_RETRY_ATTEMPTS", "3")),
                        base_delay_s=int(env.get("NOTIFY_RETRY_BASE_MS", "200")) / 1000)
    return Messaging(providers, retry, dict(secrets))
