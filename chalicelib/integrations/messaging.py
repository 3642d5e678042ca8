"""Who carries notices to applicants, behind one interface: Amazon SNS (SMS), Amazon SES (email), a VNPT-style SMS
brandname gateway (JSON over HTTP) and Zalo ZNS (template messages by phone number).

A provider `send`s one message, whose reference is our notification id, and answers the provider's own message id.
It raises `UpstreamUnavailableError` when it cannot take the message now (unreachable, throttled, 5xx: retry, then
fail over to the next provider of the channel) and `IntegrationError` when it refuses it (a number it will not
deliver to, a template it does not know: no provider will do better, the notice fails permanently).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError
from chalicelib.domain.notifications import Channel

TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 64 * 1024
UNAVAILABLE = "Nhà cung cấp tin nhắn tạm thời không phản hồi. (The messaging provider is unavailable; retry.)"
REFUSED = "Nhà cung cấp tin nhắn từ chối gửi. (The messaging provider refused the message.)"
# AWS error codes that mean "not now" rather than "never".
_TRANSIENT_AWS = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "InternalError", "InternalFailure",
                            "ServiceUnavailable", "RequestTimeout", "KMSThrottlingException"})


@dataclass(frozen=True)
class OutgoingMessage:
    reference: str  # our notification id: the provider's reference, echoed by its delivery receipts
    to: str  # E.164 phone for SMS and Zalo, an address for email
    text: str
    subject: str | None = None
    html: str | None = None
    template_id: str | None = None
    template_data: Mapping[str, str] = field(default_factory=dict)


class MessageProvider(Protocol):
    name: str
    channel: Channel
    receipts: bool  # whether it reports delivery to POST /v1/partners/{name}/delivery-receipts

    def send(self, message: OutgoingMessage) -> str:
        """Hand the message over; the provider's message id. `UpstreamUnavailableError` or `IntegrationError`."""
        ...


def _aws_error(exc: Exception) -> IntegrationError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _TRANSIENT_AWS or status >= 500:
            return UpstreamUnavailableError(UNAVAILABLE, details={"error": code})
        return IntegrationError(REFUSED, details={"error": code})
    return UpstreamUnavailableError(UNAVAILABLE)


class SnsSms:
    """Amazon SNS `Publish` to a phone number, transactional, with the province's sender id where the country allows
    one (Vietnam requires a registered brandname; without it SNS sends from a long number)."""

    channel = Channel.SMS
    receipts = False  # SNS logs delivery to CloudWatch, not to us

    def __init__(self, client: Any, sender_id: str = "", name: str = "sns") -> None:
        self.name = name
        self._client = client
        self._sender_id = sender_id

    def send(self, message: OutgoingMessage) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            answer = self._client.publish(PhoneNumber=message.to, Message=message.text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as exc:
            raise _aws_error(exc) from exc
        return str(answer["MessageId"])


class SesEmail:
    """Amazon SES `SendEmail` from the stage's verified sender, text and HTML, tagged with our reference."""

    channel = Channel.EMAIL
    receipts = False  # SES reports through configuration-set event destinations, not wired here

    def __init__(self, client: Any, sender: str, name: str = "ses") -> None:
        self.name = name
        self._client = client
        self._sender = sender

    def send(self, message: OutgoingMessage) -> str:
        body: dict[str, Any] = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
        if message.html:
            body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
        try:
            answer = self._client.send_email(
                Source=self._sender, Destination={"ToAddresses": [message.to]},
                Message={"Subject": {"Data": message.subject or "", "Charset": "UTF-8"}, "Body": body},
                Tags=[{"Name": "notification", "Value": message.reference}],
            )
        except (ClientError, BotoCoreError) as exc:
            raise _aws_error(exc) from exc
        return str(answer["MessageId"])


class JsonPoster(Protocol):
    def __call__(self, url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout: float) -> dict[str, Any]:
        ...


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """POST JSON and read a JSON object back: unreachable, 429 and 5xx are `UpstreamUnavailableError`, other
    refusals and unreadable answers `IntegrationError`."""
    if not url.startswith(("https://", "http://")):
        raise IntegrationError(REFUSED, details={"url": url[:60]})
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise UpstreamUnavailableError(UNAVAILABLE, details={"status": exc.code}) from exc
        raise IntegrationError(REFUSED, details={"status": exc.code}) from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise UpstreamUnavailableError(UNAVAILABLE) from exc
    try:
        answer = json.loads(raw[:MAX_ANSWER_BYTES])
    except ValueError as exc:
        raise IntegrationError(REFUSED, details={"answer": "not JSON"}) from exc
    if not isinstance(answer, dict):
        raise IntegrationError(REFUSED, details={"answer": "not an object"})
    return answer


@dataclass(frozen=True)
class BrandnameConfig:
    url: str
    username: str
    password: str
    brandname: str


class BrandnameSms:
    """A VNPT-style SMS brandname API: `POST {url}` with the account, the registered brandname, the number without
    `+`, the text (no diacritics) and our reference as `requestId`; `{"code": "00", "messageId"}` on success.
    Codes `99` (gateway busy) and `98` (rate limited) are worth retrying; any other code is a refusal.
    Real gateways (VNPT, Viettel) differ in field names: this adapter is where they would, nothing else changes."""

    channel = Channel.SMS
    receipts = True

    def __init__(self, config: BrandnameConfig, post: JsonPoster = post_json, name: str = "vnpt") -> None:
        self.name = name
        self._config = config
        self._post = post

    def send(self, message: OutgoingMessage) -> str:
        c = self._config
        answer = self._post(c.url, {"username": c.username, "password": c.password, "brandname": c.brandname,
                                    "phone": message.to.removeprefix("+"), "message": message.text,
                                    "requestId": message.reference}, {}, TIMEOUT_S)
        code = str(answer.get("code", ""))
        if code == "00":
            return str(answer.get("messageId") or message.reference)
        if code in ("98", "99"):
            raise UpstreamUnavailableError(UNAVAILABLE, details={"code": code})
        raise IntegrationError(REFUSED, details={"provider": self.name, "code": code})


@dataclass(frozen=True)
class ZaloConfig:
    url: str  # https://business.openapi.zalo.me/message/template
    access_token: str


class ZaloZns:
    """Zalo ZNS: an approved template by phone number (`84…`), `template_data` and our reference as `tracking_id`;
    `{"error": 0, "data": {"msg_id"}}` on success. Negative error codes are refusals (no Zalo account on the number,
    template not approved, quota) except -32 (rate limited) and -124/-216 (token expired or invalid: the
    token is refreshed out of band), which are retried."""

    channel = Channel.ZALO
    receipts = True
    _RETRY = frozenset({-32, -124, -216})

    def __init__(self, config: ZaloConfig, post: JsonPoster = post_json, name: str = "zalo") -> None:
        self.name = name
        self._config = config
        self._post = post

    def send(self, message: OutgoingMessage) -> str:
        answer = self._post(self._config.url, {"phone": message.to.removeprefix("+"), "template_id": message.template_id,
                                               "template_data": dict(message.template_data),
                                               "tracking_id": message.reference},
                            {"access_token": self._config.access_token}, TIMEOUT_S)
        error = answer.get("error")
        if error == 0:
            data = answer.get("data")
            return str((data.get("msg_id") if isinstance(data, dict) else None) or message.reference)
        if error in self._RETRY:
            raise UpstreamUnavailableError(UNAVAILABLE, details={"error": error})
        raise IntegrationError(REFUSED, details={"provider": self.name, "error": error})
