"""Health and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.handlers.http import RouteDoc, endpoint
from chalicelib.handlers.openapi import build_openapi

bp = Blueprint(__name__)
API_VERSION = "1.0.0"


@bp.route("/v1/health", methods=["GET"])
@endpoint(RouteDoc(summary="Liveness: the API answers", response_schema="health.v1.json", auth=False))
def health() -> dict[str, Any]:
    return {"status": "ok", "stage": container().settings.stage, "version": API_VERSION}


@bp.route("/v1/openapi.json", methods=["GET"])
@endpoint(RouteDoc(summary="This API described as OpenAPI 3.1", auth=False))
def openapi() -> dict[str, Any]:
    return build_openapi(bp.current_app.routes, version=API_VERSION)
