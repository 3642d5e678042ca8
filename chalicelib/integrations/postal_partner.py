"""The postal partner: shipments asked for over its JSON API (create, cancel, status), and its callbacks verified
per the Standard Webhooks specification (`standardwebhooks`: `webhook-id`, `webhook-timestamp` within five minutes,
`webhook-signature` by any of the partner's active `whsec_` secrets, two at once while one is rotated out).

`PostalPartner` is the interface the postal consumer uses (`FakePostalPartner` in `tests/fakes.py`); `HttpPostalPartner`
speaks the wire format the local simulator (`infra/local/postal_sandbox.py`) serves, a JSON shape after the real
partners' (order number, receiver with province codes, bearer token).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from standardwebhooks.webhooks import Webhook

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.domain.events import iso_utc
from chalicelib.domain.shipments import Address, ShipmentKind

UNAVAILABLE = "Đối tác bưu chính tạm thời không phản hồi. (The postal partner is unavailable.)"
REFUSED = "Đối tác bưu chính từ chối yêu cầu. (The postal partner refused the request.)"


@dataclass(frozen=True)
class ShipmentOrder:
    """What we ask the partner to carry: our `shipment_id` is its order number, so asking twice is one shipment."""

    shipment_id: str
    kind: ShipmentKind
    sender: Address
    receiver: Address
    note: str  # ASCII, what the parcel holds: a dossier code, never a name


@dataclass(frozen=True)
class ShipmentReceipt:
    """The partner's answer to an order: its waybill and when it accepted the order."""

    shipment_id: str
    waybill: str
    accepted_at: datetime
    status: str = "accepted"


class PostalPartner(Protocol):
    """A postal partner's API, as the postal consumer uses it."""

    @property
    def name(self) -> str: ...

    def create(self, order: ShipmentOrder) -> ShipmentReceipt: ...
    def cancel(self, shipment_id: str) -> None: ...
    def status(self, shipment_id: str) -> ShipmentReceipt | None: ...


class SignatureError(Exception):
    """A callback that is not the partner's: unknown partner, bad or missing signature, or a stale timestamp."""


class WebhookVerifier:
    """Each partner's active webhook secrets: a callback passes if any of them signed it within the window."""

    def __init__(self, secrets: Mapping[str, list[str]]):
        self._webhooks = {partner: [Webhook(secret) for secret in keys] for partner, keys in secrets.items() if keys}

    def knows(self, partner: str) -> bool:
        return partner in self._webhooks

    def verify(self, partner: str, body: bytes, headers: Mapping[str, str]) -> None:
        webhooks = self._webhooks.get(partner)
        if not webhooks:
            raise SignatureError("unknown partner")
        wanted = {k.lower(): v for k, v in headers.items()
                  if k.lower() in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        for webhook in webhooks:
            try:
                webhook.verify(body, wanted, json_parse=False)
            except Exception:
                continue
            return
        raise SignatureError("no active secret signed this callback")


@dataclass(frozen=True)
class PartnerConfig:
    name: str
    api_url: str  # the partner's API root
    token: str  # its bearer token
    webhook_secrets: tuple[str, ...]
    timeout_s: float = 3.0  # 4 attempts with backoff stay well inside the consumer's 30 s


class HttpPostalPartner:
    """`PostalPartner` over HTTP: `POST {api}/shipments`, `POST {api}/shipments/{id}/cancel`,
    `GET {api}/shipments/{id}`. 5xx and network errors are `UpstreamUnavailableError` (retry), 4xx `IntegrationError`."""

    def __init__(self, config: PartnerConfig):
        self._config = config

    @property
    def name(self) -> str:
        return self._config.name

    def create(self, order: ShipmentOrder) -> ShipmentReceipt:
        answer = self._call("POST", "/shipments", {
            "order_number": order.shipment_id, "service": order.kind.value, "note": order.note,
            "sender": _party(order.sender), "receiver": _party(order.receiver),
        })
        if answer is None:
            raise IntegrationError(REFUSED)
        return _receipt(answer)

    def cancel(self, shipment_id: str) -> None:
        self._call("POST", f"/shipments/{quote(shipment_id)}/cancel", {})

    def status(self, shipment_id: str) -> ShipmentReceipt | None:
        answer = self._call("GET", f"/shipments/{quote(shipment_id)}", None)
        return None if answer is None else _receipt(answer)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        request = urllib.request.Request(
            self._config.api_url.rstrip("/") + path, method=method,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {self._config.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._config.timeout_s) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code >= 500 or exc.code == 429:
                raise UpstreamUnavailableError(UNAVAILABLE, details={"status": exc.code}) from exc
            raise IntegrationError(REFUSED, details={"status": exc.code}) from exc
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise UpstreamUnavailableError(UNAVAILABLE) from exc
        if not isinstance(answer, dict):
            raise IntegrationError(REFUSED)
        return answer


def _party(address: Address) -> dict[str, str]:
    return {"name": address.recipient_name, "phone": address.phone, "street": address.street,
            "commune_code": address.commune_code, "province_code": address.province_code}


def _receipt(answer: dict[str, Any]) -> ShipmentReceipt:
    try:
        return ShipmentReceipt(shipment_id=str(answer["order_number"]), waybill=str(answer["waybill"]),
                               accepted_at=datetime.fromisoformat(str(answer["accepted_at"])),
                               status=str(answer.get("status", "accepted")))
    except (KeyError, ValueError) as exc:
        raise IntegrationError(REFUSED, details={"answer": "malformed"}) from exc


def receipt_json(receipt: ShipmentReceipt) -> dict[str, str]:
    """The partner's answer as the wire carries it (the simulator's side of `_receipt`)."""
    return {"order_number": receipt.shipment_id, "waybill": receipt.waybill,
            "accepted_at": iso_utc(receipt.accepted_at), "status": receipt.status}
