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

from chalice.app import Blueprint, Response

from chalicelib.auth import actor_from_header
from chalicelib.bootstrap import container
from chalicelib.domain import errors
from chalicelib.domain.history import Actor
from chalicelib.handlers.telemetry import logger as logger  # the one logger, re-exported for the routes
from chalicelib.input_policy import parse_json
from chalicelib.validation import nfc, validate

STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.ValidationError: 400,
    errors.UnauthorizedError: 401,
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RuleViolationError: 422,
    errors.IntegrationError: 502,
    errors.UpstreamUnavailableError: 503,
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
class Param:
    """A path, query or header parameter: its JSON Schema is enforced at the boundary and published in the OpenAPI.
    A header's name is matched case-insensitively (HTTP field names are), and its value reaches the view under
    the name declared here."""

    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False
    code: str | None = None  # the error code when it is refused; PATH_INVALID / QUERY_INVALID / HEADER_INVALID by default


# What every cacheable route (`RouteDoc.cacheable`) takes: one header, declared once, checked like any other.
IF_NONE_MATCH = Param(
    "If-None-Match", "an ETag from an earlier answer: 304 without a body if it is still current",
    {"type": "string", "maxLength": 2048},  # an empty one names no tag: answered in full, as before
)


DEFAULT_MAX_BODY_BYTES = 16 * 1024


@dataclass(frozen=True)
class RouteDoc:
    """What a route accepts and answers; kept on the view function itself so the boundary, the OpenAPI
    document and the route cannot drift apart."""

    summary: str
    request_schema: str | None = None
    response_schema: str | None = None
    success_status: int = 200
    auth: bool = True
    path: tuple[Param, ...] = ()
    query: tuple[Param, ...] = ()
    headers: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger bodies answer 413 before anything reads them
    cacheable: bool = False  # answers carry ETag and Cache-Control, and If-None-Match may answer 304
    other_media_types: tuple[str, ...] = ()  # what else a success may be (an export: text/csv, XLSX)
    returns_html: bool = False  # a page for a person's browser, not JSON

    def header_params(self) -> tuple[Param, ...]:
        """The headers the route declares, and the validator a cacheable route takes."""
        return self.headers + ((IF_NONE_MATCH,) if self.cacheable else ())


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
    """The request body parsed under the input policy, NFC-normalised and validated against `schema`."""
    raw = bp.current_request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    body = nfc(parse_json(raw))
    validate(schema, body)
    return body


def current_actor(bp: Blueprint) -> Actor:
    c = container()
    return actor_from_header(bp.current_request.headers.get("authorization"), c.settings, c.token_keys)


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
        key = parse_json(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, errors.ValidationError) as exc:
        raise errors.ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID") from exc
    if not isinstance(key, dict):
        raise errors.ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")
    return key


def query_params(bp: Blueprint) -> dict[str, Any]:
    """The route's declared query parameters, typed and validated by the boundary (defaults filled in)."""
    return dict(getattr(bp.current_request, VALIDATED_QUERY, {}))


def header_params(bp: Blueprint) -> dict[str, Any]:
    """The route's declared headers that were sent, validated by the boundary, by their declared names."""
    return dict(getattr(bp.current_request, VALIDATED_HEADERS, {}))


VALIDATED_QUERY = "dvc_validated_query"
VALIDATED_HEADERS = "dvc_validated_headers"
