"""The HTTP boundary every route inherits: body size, media type, path and query parameters, one error shape.

Registered as Chalice middleware, so a route added later gets the policy without doing anything: its
`RouteDoc` (kept on the view) says how large a body may be and what each parameter looks like, and nothing
reaches the view, a log line or DynamoDB before passing. Errors Chalice itself would give (405, 415, its own
500) are answered in the documented shape `{"error": {"code", "message"}}` too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib.domain import errors
from chalicelib.handlers import gateway_errors
from chalicelib.handlers.http import VALIDATED_HEADERS, VALIDATED_QUERY, Param, RouteDoc, error_response, logger, status_for
from chalicelib.input_policy import ascii_int, text_problem
from chalicelib.validation import describe_instance

bp = Blueprint(__name__)

JSON_MEDIA_TYPE = "application/json"
# What Chalice answers on its own, in its own shape, and the row of ours that says the same.
_CHALICE_CODES = {
    "UnsupportedMediaType": gateway_errors.UNSUPPORTED_MEDIA_TYPE,
    "MethodNotAllowedError": gateway_errors.METHOD_NOT_ALLOWED,
    "InternalServerError": gateway_errors.INTERNAL,
}


def _gateway_error(row: gateway_errors.GatewayError, status: int | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(body=row.body(), status_code=status or row.status or 500,
                    headers={"Content-Type": JSON_MEDIA_TYPE, **(headers or {})})


def _typed(param: Param, raw: str) -> Any:
    """A parameter's text as its schema's type; ASCII digits only for integers (`int('²')` is 2)."""
    kind = param.schema.get("type")
    if kind == "integer":
        value = ascii_int(raw)
        return raw if value is None else value  # a string then fails the schema's type, with a clear message
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return unicodedata.normalize("NFC", raw)


def _check(params: tuple[Param, ...], given: dict[str, str], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    refused: list[tuple[Param, str]] = []
    for param in params:
        raw = given.get(param.name)
        if raw is None:
            if param.required:
                refused.append((param, "is required"))
            elif "default" in param.schema:
                values[param.name] = param.schema["default"]
            continue
        value = _typed(param, raw)
        problem = text_problem(raw) or describe_instance(param.schema, value)
        if problem:
            refused.append((param, problem))
        else:
            values[param.name] = value
    if refused:
        first, problem = refused[0]
        raise errors.ValidationError(
            f"Tham số {first.name} không hợp lệ: {problem}. (Invalid {where} parameter {first.name}.)",
            code=first.code or f"{where.upper()}_INVALID",
            details={"problems": [{"path": param.name, "problem": why} for param, why in refused]},
        )
    return values


def _media_type(request: Request) -> str:
    return str(request.headers.get("content-type", JSON_MEDIA_TYPE)).split(";")[0].strip().lower()


def _admit(request: Request, doc: RouteDoc) -> None:
    """Raise unless the request obeys the route's input policy; stash the typed query and headers for the view."""
    body = request.raw_body or b""
    if len(body) > doc.max_body_bytes:
        raise _TooLarge(doc.max_body_bytes)
    if doc.request_schema and body and _media_type(request) != JSON_MEDIA_TYPE:
        raise _WrongMediaType()
    _check(doc.path, dict(request.uri_params or {}), "path")
    query = request.query_params
    setattr(request, VALIDATED_QUERY, _check(doc.query, {k: query[k] for k in query} if query else {}, "query"))
    setattr(request, VALIDATED_HEADERS, _check(doc.header_params(), _declared_headers(request, doc), "header"))


def _declared_headers(request: Request, doc: RouteDoc) -> dict[str, str]:
    """The declared headers that were sent, by their declared names: field names are case-insensitive (RFC 9110)."""
    sent = {str(name).lower(): str(value) for name, value in (request.headers or {}).items()}
    return {p.name: sent[p.name.lower()] for p in doc.header_params() if p.name.lower() in sent}


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit


class _WrongMediaType(Exception):
    pass


def _route(request: Request) -> tuple[RouteDoc | None, list[str]]:
    methods = bp.current_app.routes.get(str(request.context.get("resourcePath")), {})
    entry = methods.get(request.method)
    doc = getattr(entry.view_function, "__route_doc__", None) if entry else None
    return doc, sorted(methods)


def _reshaped(response: Response) -> Response:
    """Chalice's own error bodies (`{"Code", "Message"}`) in the documented shape."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
        fallback = gateway_errors.INTERNAL if response.status_code >= 500 else gateway_errors.BAD_REQUEST
        response.body = _CHALICE_CODES.get(str(body["Code"]), fallback).body()
        response.headers = {**response.headers, "Content-Type": JSON_MEDIA_TYPE}
    return response


@bp.middleware("http")
def input_policy(request: Request, get_response: Callable[[Request], Response]) -> Response:
    try:
        doc, allowed = _route(request)
        if doc is None:
            return _gateway_error(gateway_errors.METHOD_NOT_ALLOWED, headers={"Allow": ", ".join(allowed)})
        _admit(request, doc)
    except _TooLarge as exc:
        row = gateway_errors.PAYLOAD_TOO_LARGE
        return error_response(413, row.code, f"{row.message} (≤ {exc.limit} bytes)", {"max_bytes": exc.limit})
    except _WrongMediaType:
        return _gateway_error(gateway_errors.UNSUPPORTED_MEDIA_TYPE)
    except errors.DomainError as exc:
        return error_response(status_for(exc), exc.code, exc.message, exc.details)
    except Exception:
        logger.exception("boundary failed")
        return _gateway_error(gateway_errors.INTERNAL)
    return _reshaped(get_response(request))
