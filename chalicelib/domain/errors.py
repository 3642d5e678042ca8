"""The domain's error tree; handlers map each class to one HTTP status in one place.

    DomainError                       code             HTTP
    ├── ValidationError               VALIDATION_FAILED 400 (a body or event that breaks its schema)
    ├── NotFoundError                 *_NOT_FOUND       404
    ├── ForbiddenError                FORBIDDEN / ...   403
    ├── ConflictError                 *_CONFLICT        409 (stale version, illegal transition)
    └── RuleViolationError            rule's own code   422 (a directive or catalogue rule refuses it)

Every error carries a stable machine `code` and a `message` a person understands (Vietnamese for
applicants where it helps). Extra fields for the response go in `details`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "DOMAIN_ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}


class ValidationError(DomainError):
    code = "VALIDATION_FAILED"


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class UnauthorizedError(DomainError):
    code = "UNAUTHENTICATED"


class ConflictError(DomainError):
    code = "CONFLICT"


class RuleViolationError(DomainError):
    code = "RULE_VIOLATION"
