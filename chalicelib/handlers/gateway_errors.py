"""Errors answered before any route runs: by API Gateway as deployed, by the boundary or local server here.

One table, read by the deployed template (the `GatewayResponses` of Chalice's `RestAPI`, one per row), by the HTTP
boundary (Chalice's own 405/415 rewritten) and by the local server (unknown routes), so every error the API
can give has the documented shape `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayError:
    response_type: str | None  # API Gateway's gateway response type; None where only the app answers it
    status: int | None  # None: keep the status API Gateway chose (DEFAULT_4XX / DEFAULT_5XX)
    code: str
    message: str

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def body_json(self) -> str:
        return json.dumps(self.body(), ensure_ascii=False)


ROUTE_NOT_FOUND = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN", 404, "ROUTE_NOT_FOUND",
    "Không có đường dẫn hoặc phương thức này. (No such route or method; see /v1/openapi.json.)",
)
METHOD_NOT_ALLOWED = GatewayError(
    None, 405, "METHOD_NOT_ALLOWED",
    "Đường dẫn này không nhận phương thức đó. (Method not allowed on this route; see /v1/openapi.json.)",
)
UNSUPPORTED_MEDIA_TYPE = GatewayError(
    "UNSUPPORTED_MEDIA_TYPE", 415, "UNSUPPORTED_MEDIA_TYPE",
    "Nội dung phải là JSON: Content-Type: application/json. (Send Content-Type: application/json.)",
)
PAYLOAD_TOO_LARGE = GatewayError(
    "REQUEST_TOO_LARGE", 413, "PAYLOAD_TOO_LARGE",
    "Nội dung yêu cầu quá lớn. (The request body is too large for this route.)",
)
THROTTLED = GatewayError(
    "THROTTLED", 429, "THROTTLED", "Quá nhiều yêu cầu, vui lòng thử lại sau. (Too many requests; retry later.)"
)
QUOTA_EXCEEDED = GatewayError(
    "QUOTA_EXCEEDED", 429, "QUOTA_EXCEEDED", "Đã vượt hạn mức yêu cầu. (Request quota exceeded.)"
)
UNAUTHENTICATED = GatewayError(
    "UNAUTHORIZED", 401, "UNAUTHENTICATED", "Bạn cần đăng nhập. (Missing or invalid credentials.)"
)
ACCESS_DENIED = GatewayError(
    "ACCESS_DENIED", 403, "FORBIDDEN", "Không được phép truy cập. (Access denied.)"
)
INTEGRATION_TIMEOUT = GatewayError(
    "INTEGRATION_TIMEOUT", 504, "UPSTREAM_TIMEOUT",
    "Hệ thống phản hồi quá chậm, vui lòng thử lại. (The service timed out; retry.)",
)
BAD_REQUEST = GatewayError(
    "DEFAULT_4XX", None, "BAD_REQUEST", "Yêu cầu không hợp lệ. (The request was refused.)"
)
INTERNAL = GatewayError(
    "DEFAULT_5XX", None, "INTERNAL", "Lỗi hệ thống, vui lòng thử lại sau. (Internal error.)"
)

GATEWAY_ERRORS: tuple[GatewayError, ...] = (
    ROUTE_NOT_FOUND, METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE, THROTTLED, QUOTA_EXCEEDED,
    UNAUTHENTICATED, ACCESS_DENIED, INTEGRATION_TIMEOUT, BAD_REQUEST, INTERNAL,
)
# The rows API Gateway itself answers: the deployed template turns each into a gateway response.
GATEWAY_RESPONSES: tuple[GatewayError, ...] = tuple(e for e in GATEWAY_ERRORS if e.response_type is not None)
