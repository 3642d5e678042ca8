"""What the payment gateway adapters share on the wire: JSON over HTTP, Vietnam-time timestamps, ASCII text, hex checks.

The HTTP transport is an injected callable (`JsonTransport`), so tests hand a gateway a fake and patch nothing; the
default, `post_json`, is the standard library's `urllib.request` with a short timeout and a bounded answer. A
gateway that cannot be reached, times out or answers 5xx is `UpstreamUnavailableError` (retry later); one that
answers something we cannot read is `IntegrationError`.
"""

from __future__ import annotations

import hmac
import http.client
import json
import re
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError

VN_TIME = ZoneInfo("Asia/Ho_Chi_Minh")  # both gateways state instants as yyyyMMddHHmmss in GMT+7
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
DEFAULT_TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 64 * 1024
UNAVAILABLE = "Cổng thanh toán tạm thời không phản hồi; vui lòng thử lại. (The payment gateway is unavailable; retry.)"

_TIMESTAMP = re.compile(r"[0-9]{14}")
_TXN_REF = re.compile(r"[A-Za-z0-9]{1,100}")
_IP = re.compile(r"[0-9A-Fa-f:.]{2,45}")
# What every gateway's sample encoder (PHP urlencode, Java URLEncoder, .NET WebUtility, Python quote_plus) writes the
# same way, so a description can never make two implementations of one signature disagree.
_ORDER_INFO_UNSAFE = re.compile(r"[^A-Za-z0-9 ,.:_-]+")


class JsonTransport(Protocol):
    def __call__(self, url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """POST `body` as JSON to `url` and return the JSON object answered; raises `UpstreamUnavailableError` when
        the party cannot be reached in `timeout` seconds, `IntegrationError` when its answer is not a JSON object."""
        ...


def post_json(url: str, body: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):  # urllib also opens file:// and ftp://: never a gateway
        raise IntegrationError(f"Địa chỉ cổng thanh toán không hợp lệ. (Not an HTTP URL: {url[:60]})")
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:  # before URLError, its base class
        if exc.code >= 500 or exc.code == 429:
            raise UpstreamUnavailableError(UNAVAILABLE, details={"status": exc.code}) from exc
        raise IntegrationError(f"Cổng thanh toán từ chối yêu cầu. (The gateway answered HTTP {exc.code}.)") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # TimeoutError is an OSError
        raise UpstreamUnavailableError(UNAVAILABLE) from exc
    if len(raw) > MAX_ANSWER_BYTES:
        raise IntegrationError("Cổng thanh toán trả lời quá dài. (The gateway's answer is too long.)")
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise IntegrationError("Cổng thanh toán trả lời không phải JSON. (The gateway's answer is not JSON.)") from exc
    if not isinstance(answer, dict):
        raise IntegrationError("Cổng thanh toán trả lời sai định dạng. (The gateway's answer is not a JSON object.)")
    return answer


def vn_timestamp(instant: datetime) -> str:
    """`instant` (timezone-aware) as yyyyMMddHHmmss in Vietnam time."""
    if instant.tzinfo is None:
        raise ValueError("a gateway timestamp needs a timezone-aware instant")
    return instant.astimezone(VN_TIME).strftime(TIMESTAMP_FORMAT)


def parse_vn_timestamp(text: str) -> datetime:
    """yyyyMMddHHmmss in Vietnam time as an aware instant (UTC); `ValueError` if it is not one."""
    if not _TIMESTAMP.fullmatch(text):
        raise ValueError("not yyyyMMddHHmmss")
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=VN_TIME).astimezone(ZoneInfo("UTC"))


def ascii_order_info(text: str, fallback: str, limit: int = 255) -> str:
    """The order description as gateways want it: Vietnamese without diacritics ("Lệ phí" → "Le phi"), letters,
    digits, spaces and `,.:_-` only, at most `limit` characters; `fallback` if nothing is left."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = " ".join(_ORDER_INFO_UNSAFE.sub(" ", plain).split())
    return plain[:limit].strip() or fallback


def check_order_fields(txn_ref: str, amount: int, max_amount: int, client_ip: str,
                       created_at: datetime, expires_at: datetime) -> None:
    """`ValueError` for an order no gateway would take: a programming error on our side, never the payer's."""
    if not _TXN_REF.fullmatch(txn_ref):
        raise ValueError("txn_ref must be 1 to 100 ASCII letters and digits")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= max_amount:
        raise ValueError(f"amount must be a whole number of VND from 1 to {max_amount}")
    if not _IP.fullmatch(client_ip):
        raise ValueError("client_ip must be an IPv4 or IPv6 address")
    if created_at.tzinfo is None or expires_at.tzinfo is None or expires_at <= created_at:
        raise ValueError("created_at and expires_at must be aware instants, expiry after creation")


def hex_matches(expected_lower_hex: str, given: object) -> bool:
    """Whether `given` is `expected_lower_hex` in either case, compared in constant time."""
    if not isinstance(given, str) or len(given) != len(expected_lower_hex) or not given.isascii():
        return False
    return hmac.compare_digest(expected_lower_hex.encode("ascii"), given.lower().encode("ascii"))


def wire_text(value: object) -> str:
    """A field of a gateway's JSON answer as the text it signed: strings as they are, integers in decimal, absent
    or null as ""; anything else (floats, booleans, objects) is `ValueError`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("not a string or an integer")
