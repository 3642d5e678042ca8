"""The one error tree; handlers map each class to one HTTP status in one place (`handlers/http.py`).

    DomainError                          code                    HTTP
    ├── ValidationError                  VALIDATION_FAILED, ...  400 (a body, parameter or event breaks its schema)
    ├── UnauthorizedError                UNAUTHENTICATED, ...    401
    ├── ForbiddenError                   FORBIDDEN, ...          403
    ├── NotFoundError                    *_NOT_FOUND             404
    ├── ConflictError                    CONFLICT, ...           409 (illegal transition, already done)
    │   ├── VersionConflictError         VERSION_CONFLICT        409 (acted on a version that is no longer current)
    │   ├── TransactionConflictError     TRANSACTION_CONFLICT    409 (another write held an item; retry as is)
    │   ├── IdempotencyKeyRaceError      IDEMPOTENCY_RACE        409 (same key committed concurrently; read it back)
    │   ├── SequenceTakenError           SEQUENCE_TAKEN          409 (the guessed dossier number was taken; guess again)
    │   └── AlreadyRecordedError         ALREADY_RECORDED        409 (a once-only record exists already)
    ├── RuleViolationError               the rule's own code     422 (a directive or catalogue rule refuses it)
    └── IntegrationError                 UPSTREAM_FAILED         502 (an outside party answered wrongly)
        └── UpstreamUnavailableError     UPSTREAM_UNAVAILABLE    503 (an outside party could not be reached; retry)

Every error carries a stable machine `code` and a `message` a person understands (Vietnamese for
applicants where it helps). Extra fields for the response go in `details`. Third-party errors (botocore,
pynamodb, a gateway's HTTP error) are translated where they are caught, with `raise ... from exc`.
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


class VersionConflictError(ConflictError):
    code = "VERSION_CONFLICT"


class TransactionConflictError(ConflictError):
    code = "TRANSACTION_CONFLICT"


class IdempotencyKeyRaceError(ConflictError):
    """Another request with the same key committed first; the caller reads what it remembered."""

    code = "IDEMPOTENCY_RACE"


class SequenceTakenError(ConflictError):
    """The number a submission guessed was taken meanwhile; the unit of work has learnt the current one. The use case
    builds the dossier again with the next number (it never reaches a caller: after a few guesses the number is taken
    atomically)."""

    code = "SEQUENCE_TAKEN"


class AlreadyRecordedError(ConflictError):
    code = "ALREADY_RECORDED"


class RuleViolationError(DomainError):
    code = "RULE_VIOLATION"


class IntegrationError(DomainError):
    """An outside party (document store, payment gateway, postal partner, SMS provider) failed us."""

    code = "UPSTREAM_FAILED"


class UpstreamUnavailableError(IntegrationError):
    code = "UPSTREAM_UNAVAILABLE"


def dossier_not_found(dossier_id: str) -> NotFoundError:
    """The one answer for a dossier that does not exist or that the caller may not see (ids cannot be probed)."""
    return NotFoundError(f"Không tìm thấy hồ sơ {dossier_id}. (Dossier not found.)", code="DOSSIER_NOT_FOUND")


def agency_not_found(code: str) -> NotFoundError:
    return NotFoundError(f"Không tìm thấy cơ quan có mã {code}. (No agency with code {code}.)", code="AGENCY_NOT_FOUND")


def procedure_not_found(code: str) -> NotFoundError:
    return NotFoundError(f"Không tìm thấy thủ tục có mã {code}. (No procedure with code {code}.)",
                         code="PROCEDURE_NOT_FOUND")
