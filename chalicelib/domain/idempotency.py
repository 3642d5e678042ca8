"""Idempotency keys: what a repeated request is recognised by, and the answer remembered for it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .errors import RuleViolationError

IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class RememberedResponse:
    request_hash: str
    status_code: int
    body: dict[str, Any]


def request_hash(body: Any) -> str:
    """The body's fingerprint: canonical JSON (sorted keys, no spaces), SHA-256."""
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_same_request(remembered: RememberedResponse, body_hash: str) -> None:
    """A key reused with another body is refused: the remembered answer was for a different request."""
    if remembered.request_hash != body_hash:
        raise RuleViolationError(
            "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác. "
            "(This Idempotency-Key was used with a different request body.)",
            code="IDEMPOTENCY_KEY_REUSED",
        )
