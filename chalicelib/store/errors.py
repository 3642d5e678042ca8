"""DynamoDB's failures as the domain's errors: translated here, once, for the unit of work and every repository.

Without this a throttled read or write reached the routes as an unexplained 500. The translation goes by the
error code DynamoDB (or a transaction's cancellation reason) gives, never by message text:

    throttling, a service error, no connection      UpstreamUnavailableError  503 (retry)
    ValidationException on a read with a cursor     ValidationError           400 (CURSOR_INVALID: the client's input)
    anything else                                   IntegrationError          502 (our request or table is wrong)

Failed conditions are not here: which item failed means something different to each writer (see `unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeAlias

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError

from chalicelib.domain.errors import DomainError, IntegrationError, UpstreamUnavailableError, ValidationError

# Codes of a failed call that say "not now": the same request may succeed when retried.
RETRYABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
})
# The same, as a cancelled transaction's per-item reasons spell them.
RETRYABLE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
VALIDATION_CODE = "ValidationException"

UNAVAILABLE = "Cơ sở dữ liệu tạm thời quá tải; vui lòng thử lại. (The database is busy or unreachable; retry.)"
FAILED = "Lỗi lưu trữ dữ liệu. (The database refused the request.)"
CURSOR_INVALID = "Con trỏ phân trang không hợp lệ. (Invalid cursor.)"

StorageFailure: TypeAlias = PynamoDBException | BotoCoreError | ClientError


def _code(exc: StorageFailure) -> str | None:
    cause = _cause(exc)
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code") or "") or None
    return None


def _cause(exc: StorageFailure) -> BaseException | None:
    return exc.cause if isinstance(exc, PynamoDBException) else exc


def translate(exc: StorageFailure, *, client_cursor: bool = False) -> DomainError:
    """The domain error for a storage failure. `client_cursor`: the call carried a cursor the client sent, the
    one input of a read DynamoDB itself may refuse as malformed."""
    code = _code(exc)
    reasons = {r.code for r in exc.cancellation_reasons if r and r.code} if isinstance(exc, TransactWriteError) else set()
    if code in RETRYABLE_CODES or reasons & RETRYABLE_REASONS:
        return UpstreamUnavailableError(UNAVAILABLE)
    cause = _cause(exc)
    malformed = code == VALIDATION_CODE or isinstance(cause, ParamValidationError)
    if malformed and client_cursor:
        return ValidationError(CURSOR_INVALID, code="CURSOR_INVALID")
    if isinstance(cause, BotoCoreError) and not isinstance(cause, ParamValidationError):
        return UpstreamUnavailableError(UNAVAILABLE)  # no answer at all: a timeout, a refused connection
    return IntegrationError(FAILED)


@contextmanager
def storage_errors(*, client_cursor: bool = False) -> Iterator[None]:
    """Run a store call, raising its failure as the domain error it means (`raise ... from` keeps the cause)."""
    try:
        yield
    except DoesNotExist:
        raise  # not a failure: "no such item" is the caller's answer to give
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        raise translate(exc, client_cursor=client_cursor) from exc
