"""HTTP plumbing shared by the routes: bodies, errors as JSON, the caller, cursors, route metadata.

Domain errors become responses here and only here, by class: see the tree in `chalicelib.domain.errors`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from chalice.app import Blueprint, Response

from chalicelib.auth import actor_from_header
from chalicelib.bootstrap import container
from chalicelib.domain import errors
from chalicelib.domain.history import Actor
from chalicelib.validation import nfc, validate

logger = Logger(service="dvc-api")

STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.ValidationError: 400,
    errors.UnauthorizedError: 401,
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RuleViolationError: 422,
}


def status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says of a route; kept on the view function itself so it cannot drift."""

    summary: str
    request_schema: str | None = None
    response_schema: str | None = None
    success_status: int = 200
    auth: bool = True
    query: tuple[tuple[str, str, bool], ...] = ()  # (name, description, required)
    headers: tuple[tuple[str, str], ...] = ()
    errors: tuple[int, ...] = ()


def endpoint(doc: RouteDoc) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn domain errors into JSON error responses and anything unexpected into a logged 500."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handle(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except errors.DomainError as exc:
                return error_response(status_for(exc), exc.code, exc.message, exc.details)
            except Exception:
                logger.exception("unhandled error", extra={"route": view.__name__})
                return error_response(500, "INTERNAL", "Lỗi hệ thống, vui lòng thử lại sau. (Internal error.)")

        handle.__route_doc__ = doc  # type: ignore[attr-defined]
        return handle

    return wrap


def json_body(bp: Blueprint, schema: str) -> Any:
    """The request body parsed, NFC-normalised and validated against `schema`."""
    raw = bp.current_request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.ValidationError(
            "Nội dung yêu cầu phải là JSON hợp lệ (UTF-8). (The request body must be valid JSON.)",
            code="BODY_NOT_JSON",
        ) from exc
    body = nfc(body)
    validate(schema, body)
    return body


def current_actor(bp: Blueprint) -> Actor:
    headers = bp.current_request.headers
    return actor_from_header(headers.get("authorization"), container().settings)


def request_id(bp: Blueprint) -> str | None:
    context = bp.current_request.context or {}
    value = context.get("requestId")
    return str(value) if value else None


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError) as exc:
        raise errors.ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID") from exc
    if not isinstance(key, dict):
        raise errors.ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")
    return key


def query_params(bp: Blueprint) -> dict[str, str]:
    """The query string as a plain dict (the last value wins where a name repeats)."""
    params = bp.current_request.query_params
    return {name: params[name] for name in params} if params else {}


def query_int(bp: Blueprint, name: str, default: int, low: int, high: int) -> int:
    raw = query_params(bp).get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise errors.ValidationError(
            f"Tham số {name} phải là số nguyên từ {low} đến {high}. ({name} must be an integer {low}..{high}.)",
            code="QUERY_INVALID",
        )
    return int(raw)
