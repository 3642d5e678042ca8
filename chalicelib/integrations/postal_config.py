"""Which postal partners a container talks to: environment variables in the local stage, one Secrets Manager secret
in deployed stages (read once per container by the composition root).

Local stage: `POSTAL_WEBHOOK_SECRETS` (JSON: partner → list of `whsec_` secrets, two at once while rotating; the
public default below, printed in the README), `POSTAL_PARTNER` (the one asked for shipments, default `vnpost`),
`POSTAL_API_URL` (the local simulator's) and `POSTAL_API_TOKEN`.

Deployed stages: the secret `POSTAL_SECRET_ID` (default `dvc/{stage}/postal-partners`) holds
`{"shipping_partner": "vnpost", "partners": {"vnpost": {"api_url", "token", "webhook_secrets": [...]}}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import topology
from chalicelib.domain.errors import IntegrationError
from chalicelib.integrations.gateway_config import read_secret
from chalicelib.integrations.postal_partner import PartnerConfig

SECRET_ID_VARIABLE = "POSTAL_SECRET_ID"
LOCAL_WEBHOOK_SECRETS = {"vnpost": ["whsec_TE9DQUxQT1NUQUxURVNUU0VDUkVUTk9UQVNFQ1JFVDA="]}  # public: the local stage's
LOCAL_API_URL = "http://127.0.0.1:8400"
MISCONFIGURED = "Cấu hình đối tác bưu chính không hợp lệ. (The postal partner configuration is invalid.)"


def _secrets_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > 2 or not all(
            isinstance(s, str) and s.startswith("whsec_") for s in value):
        raise IntegrationError(MISCONFIGURED, details={"needs": "one or two whsec_ secrets per partner"})
    return tuple(value)


def local_partners(environ: Mapping[str, str]) -> tuple[str, dict[str, PartnerConfig]]:
    try:
        secrets = json.loads(environ["POSTAL_WEBHOOK_SECRETS"]) if environ.get("POSTAL_WEBHOOK_SECRETS") else \
            LOCAL_WEBHOOK_SECRETS
    except ValueError as exc:
        raise IntegrationError(MISCONFIGURED) from exc
    if not isinstance(secrets, dict):
        raise IntegrationError(MISCONFIGURED)
    url, token = environ.get("POSTAL_API_URL") or LOCAL_API_URL, environ.get("POSTAL_API_TOKEN") or "local-postal-token"
    partners = {name: PartnerConfig(name, url, token, _secrets_list(keys)) for name, keys in secrets.items()}
    return environ.get("POSTAL_PARTNER") or "vnpost", partners


def secret_partners(secret_string: str) -> tuple[str, dict[str, PartnerConfig]]:
    try:
        document = json.loads(secret_string)
        shipping = document["shipping_partner"]
        partners = {name: PartnerConfig(name, entry["api_url"], entry["token"], _secrets_list(entry["webhook_secrets"]))
                    for name, entry in document["partners"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IntegrationError(MISCONFIGURED) from exc
    return shipping, partners


def load_partners(environ: Mapping[str, str],
                  secretsmanager_client_factory: Callable[[], Any]) -> tuple[str, dict[str, PartnerConfig]]:
    """The partner asked for shipments and every partner's configuration, for the stage in `environ`."""
    stage = environ.get("DVC_STAGE", "local")
    if stage == "local":
        shipping, partners = local_partners(environ)
    else:
        name = environ.get(SECRET_ID_VARIABLE) or topology.POSTAL_PARTNERS_SECRET.physical(stage)
        shipping, partners = secret_partners(read_secret(secretsmanager_client_factory(), name))
    if shipping not in partners:
        raise IntegrationError(MISCONFIGURED, details={"shipping_partner": shipping})
    return shipping, partners
