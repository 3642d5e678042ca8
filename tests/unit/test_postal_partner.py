"""The postal partner's adapters without I/O: Standard Webhooks verification per partner with two secrets during a
rotation, the partners' configuration (local environment, deployed secret), and the commune table the API checks
addresses against (generated from `vietnam-provinces`, which the Lambda bundle does not carry)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.communes import DATA, is_commune_of
from chalicelib.domain.errors import IntegrationError
from chalicelib.integrations.postal_config import LOCAL_WEBHOOK_SECRETS, load_partners, secret_partners
from chalicelib.integrations.postal_partner import SignatureError, WebhookVerifier
from infra.gen_communes import table

OLD, NEW = "whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVkLW91dA==", "whsec_bmV3LXNlY3JldC10YWtpbmctb3Zlci1ub3cwMA=="
BODY = b'{"type": "shipment.delivered"}'


def headers(secret: str, *, at: datetime | None = None, message_id: str = "msg_1") -> dict[str, str]:
    when = at or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, when, BODY.decode())}


def test_either_active_secret_passes_during_a_rotation() -> None:
    verifier = WebhookVerifier({"vnpost": [OLD, NEW], "viettelpost": [NEW]})
    verifier.verify("vnpost", BODY, headers(OLD))
    verifier.verify("vnpost", BODY, headers(NEW))
    with pytest.raises(SignatureError):
        verifier.verify("viettelpost", BODY, headers(OLD))  # another partner's secrets are not this one's


@pytest.mark.parametrize("tamper", [
    lambda h: {**h, "webhook-timestamp": str(int((datetime.now(UTC) - timedelta(minutes=6)).timestamp()))},
    lambda h: {**h, "webhook-timestamp": "yesterday"},
    lambda h: {**h, "webhook-id": "msg_2"},
    lambda h: {**h, "webhook-signature": "v1,AAAA"},
    lambda h: {**h, "webhook-signature": "v1"},
    lambda h: {**h, "webhook-signature": "v1,%%%not-base64"},
    lambda h: {k: v for k, v in h.items() if k != "webhook-id"},
    lambda h: {},
])
def test_anything_but_a_fresh_signature_of_these_bytes_is_refused(tamper: object) -> None:
    verifier = WebhookVerifier({"vnpost": [NEW]})
    with pytest.raises(SignatureError):
        verifier.verify("vnpost", BODY, tamper(headers(NEW)))  # type: ignore[operator]


def test_a_signature_older_than_five_minutes_is_stale_and_a_fresh_one_is_not() -> None:
    verifier = WebhookVerifier({"vnpost": [NEW]})
    verifier.verify("vnpost", BODY, headers(NEW, at=datetime.now(UTC) - timedelta(minutes=4)))
    with pytest.raises(SignatureError):
        verifier.verify("vnpost", BODY, headers(NEW, at=datetime.now(UTC) - timedelta(minutes=6)))
    with pytest.raises(SignatureError):
        verifier.verify("ghtk", BODY, headers(NEW))  # no such partner


def test_the_local_stage_reads_the_environment_and_has_a_public_default() -> None:
    shipping, partners = load_partners({"DVC_STAGE": "local"}, lambda: None)
    assert (shipping, partners["vnpost"].webhook_secrets) == ("vnpost", tuple(LOCAL_WEBHOOK_SECRETS["vnpost"]))
    env = {"DVC_STAGE": "local", "POSTAL_WEBHOOK_SECRETS": json.dumps({"vnpost": [OLD, NEW]})}
    assert load_partners(env, lambda: None)[1]["vnpost"].webhook_secrets == (OLD, NEW)
    for bad in ("[]", "{\"vnpost\": []}", "{\"vnpost\": [\"nope\"]}", "{\"vnpost\": [1, 2, 3]}", "not json"):
        with pytest.raises(IntegrationError):
            load_partners({"DVC_STAGE": "local", "POSTAL_WEBHOOK_SECRETS": bad}, lambda: None)


def test_a_deployed_stage_reads_its_secret() -> None:
    secret = {"shipping_partner": "vnpost",
              "partners": {"vnpost": {"api_url": "https://api.example", "token": "t", "webhook_secrets": [NEW]}}}
    shipping, partners = secret_partners(json.dumps(secret))
    assert (shipping, partners["vnpost"].api_url) == ("vnpost", "https://api.example")
    with pytest.raises(IntegrationError):
        secret_partners(json.dumps({**secret, "partners": {"vnpost": {"api_url": "x"}}}))


def test_the_commune_table_is_the_packages_and_checks_commune_against_province() -> None:
    assert json.loads(DATA.read_text(encoding="utf-8")) == table()  # regenerate with `python -m infra.gen_communes`
    assert is_commune_of("46", "19900")
    assert not is_commune_of("79", "19900")
    assert not is_commune_of("46", "99999")
