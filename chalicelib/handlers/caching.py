"""Cacheable answers for public reads: a strong ETag from the body's bytes, Cache-Control, and 304 on If-None-Match."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalice.app import Response

MAX_VALIDATORS = 64  # an If-None-Match listing more ETags than this is not one an honest cache sends


def etag_of(payload: str) -> str:
    """Strong: the same bytes (UTF-8), and only they, have the same tag."""
    return f'"{hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]}"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names `etag` (RFC 9110 §13.1.2: weak comparison, `*` matches any current answer)."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",", MAX_VALIDATORS)[:MAX_VALIDATORS]]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


def cacheable(body: Any, if_none_match: str | None, max_age_s: int) -> Response:
    """The body as JSON with its validators, or 304 with the same headers and no body if the caller has it already."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))  # sent as it is hashed
    etag = etag_of(payload)
    headers: dict[str, str | list[str]] = {"ETag": etag, "Cache-Control": f"public, max-age={max_age_s}"}
    if none_match(if_none_match, etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=payload, status_code=200, headers={**headers, "Content-Type": "application/json"})
