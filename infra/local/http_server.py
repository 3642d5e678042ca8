"""The API over HTTP on loopback: Chalice's local server, answering what API Gateway answers itself in our shape.

API Gateway answers an unknown route (or a method a route does not take) with its MISSING_AUTHENTICATION_TOKEN
gateway response; the deployed template maps that to 404 `ROUTE_NOT_FOUND` (see
`chalicelib.handlers.gateway_errors`). Chalice's local server imitates API Gateway's raw 403 instead; this
handler gives the same answer as the deployed stack, from the same table.
"""

from __future__ import annotations

from typing import Any

from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
)

from chalicelib.handlers import gateway_errors


class GatewayShapedHandler(ChaliceRequestHandler):
    def __getattr__(self, name: str) -> Any:
        # Any method (TRACE, PROPFIND, ...) reaches the app, which answers 405 in our shape, where the standard
        # library's server would answer 501 in HTML; API Gateway never answers 501 either.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        row = gateway_errors.ROUTE_NOT_FOUND if isinstance(error, ForbiddenError) else gateway_errors.UNAUTHENTICATED
        headers = {k: v for k, v in error.headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = "application/json"
        self._send_http_response(row.status or error.CODE, headers, row.body_json().encode("utf-8"))


def local_server(app: Any, config: Any, host: str, port: int) -> LocalDevServer:
    """`chalice.local.create_local_server`, with the handler above."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=GatewayShapedHandler)
