"""Local-stage only: mint development tokens so a person can try the API with curl."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice.app import Blueprint

from chalicelib.auth import mint_dev_token
from chalicelib.bootstrap import container
from chalicelib.domain.errors import NotFoundError
from chalicelib.handlers import gateway_errors
from chalicelib.handlers.http import RouteDoc, endpoint, json_body, query_params
from chalicelib.handlers.params import LIMIT

bp = Blueprint(__name__)


@bp.route("/v1/dev/tokens", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Mint a development token (local stage only)",
        request_schema="dev-token-request.v1.json",
        response_schema="dev-token.v1.json",
        auth=False,
        errors=(400, 404),
    )
)
def token() -> dict[str, Any]:
    c = container()
    if not c.settings.is_local:
        row = gateway_errors.ROUTE_NOT_FOUND  # as if the route did not exist, which outside the local stage it does not
        raise NotFoundError(row.message, code=row.code)
    body = json_body(bp, "dev-token-request.v1.json")
    role = body["role"]
    sub = body.get("sub", f"dev-{role}")
    value = mint_dev_token(
        c.settings,
        role=role,
        sub=sub,
        name=body.get("name", f"Người dùng thử ({role})"),
        agency=body.get("agency"),
        ttl=timedelta(seconds=body.get("ttl_seconds", 12 * 3600)),
        now=c.now(),
    )
    return {"token": value, "token_type": "Bearer", "role": role, "sub": sub}


@bp.route("/v1/dev/outbox", methods=["GET"])
@endpoint(RouteDoc(summary="Every messaging provider call, newest first: what applicants would receive (local stage "
                           "only)", query=(LIMIT,), response_schema="dev-outbox.v1.json", auth=False, errors=(400, 404)))
def outbox() -> dict[str, Any]:
    c = container()
    if not c.settings.is_local or c.dev_outbox is None:
        row = gateway_errors.ROUTE_NOT_FOUND
        raise NotFoundError(row.message, code=row.code)
    return {"items": c.dev_outbox.recent(query_params(bp)["limit"])}
