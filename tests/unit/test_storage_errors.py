"""DynamoDB's and S3's failures become the error tree's classes at the store boundary, never a bare 500.

The failures are built by hand as botocore and pynamodb raise them (`ClientError` with DynamoDB's error code,
wrapped by pynamodb with the original as its `cause`): no network, no patching.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from pynamodb.exceptions import CancellationReason, GetError, QueryError, TransactWriteError, UpdateError, VerboseClientError

from chalicelib.domain.errors import DomainError, IntegrationError, UpstreamUnavailableError, ValidationError
from chalicelib.domain.idempotency import RememberedResponse
from chalicelib.handlers.http import status_for
from chalicelib.integrations.documents import S3DocumentStore
from chalicelib.store.errors import storage_errors, translate
from chalicelib.store.unit_of_work import DynamoUnitOfWork
from infra.seed import agencies, procedures
from tests.fakes import InMemoryCatalogue

THROTTLING = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
              "InternalServerError", "ServiceUnavailable"]


def client_error(code: str, operation: str = "Query", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "as DynamoDB says it"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def raised(failure: Exception, *, client_cursor: bool = False) -> DomainError:
    with pytest.raises(DomainError) as caught, storage_errors(client_cursor=client_cursor):
        raise failure
    assert caught.value.__cause__ is failure  # translated with `raise ... from`: the log keeps DynamoDB's words
    return caught.value


@pytest.mark.parametrize("code", THROTTLING)
@pytest.mark.parametrize("wrapper", [QueryError, GetError, UpdateError])
def test_throttling_and_service_errors_are_503_retry(code: str, wrapper: type[Exception]) -> None:
    error = raised(wrapper("failed", client_error(code)))
    assert isinstance(error, UpstreamUnavailableError) and status_for(error) == 503
    assert "(The database is busy or unreachable; retry.)" in error.message


def test_no_answer_at_all_is_503() -> None:
    assert status_for(raised(GetError("failed", EndpointConnectionError(endpoint_url="http://dynamodb")))) == 503


@pytest.mark.parametrize("failure", [QueryError("failed", client_error("ValidationException")),
                                     QueryError("failed", ParamValidationError(report="ExclusiveStartKey"))],
                         ids=["dynamodb", "botocore"])
def test_a_malformed_read_is_the_clients_cursor_only_when_it_carried_one(failure: QueryError) -> None:
    with_cursor = raised(failure, client_cursor=True)
    assert (type(with_cursor), with_cursor.code, status_for(with_cursor)) == (ValidationError, "CURSOR_INVALID", 400)
    without = raised(failure)
    assert type(without) is IntegrationError and status_for(without) == 502  # our own request was wrong


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"])
def test_anything_else_is_502_not_retryable(code: str) -> None:
    error = raised(GetError("failed", client_error(code, "GetItem")))
    assert type(error) is IntegrationError and status_for(error) == 502


def test_domain_errors_and_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), storage_errors():
        raise KeyError("a mapping bug is not a storage failure")


# --- the unit of work's commit -------------------------------------------------------------------------------


def cancelled(*reasons: str | None) -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}, "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=r) if r else None for r in reasons],
    )
    return TransactWriteError("Failed to write transaction items", cause)


class FailingConnection:
    """Stands in for pynamodb's `Connection`: the transaction reaches it and fails as DynamoDB would."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def transact_write_items(self, *args: Any, **kwargs: Any) -> Any:
        raise self.failure


def commit_failing_with(failure: Exception) -> DomainError:
    uow = DynamoUnitOfWork(FailingConnection(failure), InMemoryCatalogue(agencies(46), procedures()))  # type: ignore[arg-type]
    uow.remember("owner-1", "key-1", RememberedResponse("hash", 201, {"id": "x"}), datetime(2026, 11, 25, tzinfo=UTC))
    with pytest.raises(DomainError) as caught:
        uow.commit()
    return caught.value


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_commit_is_503_not_500(code: str) -> None:
    assert status_for(commit_failing_with(TransactWriteError("failed", client_error(code, "TransactWriteItems")))) == 503


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_transaction_cancelled_by_throttling_is_503(reason: str) -> None:
    assert status_for(commit_failing_with(cancelled(reason))) == 503


def test_a_failed_condition_still_means_what_it_meant() -> None:
    assert commit_failing_with(cancelled("ConditionalCheckFailed")).code == "IDEMPOTENCY_RACE"


def test_a_transaction_refused_as_invalid_is_502() -> None:
    error = commit_failing_with(cancelled("ValidationError"))
    assert type(error) is IntegrationError and status_for(error) == 502


def test_translate_is_the_same_function_the_context_uses() -> None:
    assert type(translate(QueryError("x", client_error("ThrottlingException")))) is UpstreamUnavailableError


# --- the document store (S3) ---------------------------------------------------------------------------------


class FailingS3:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def head_object(self, **kwargs: Any) -> Any:
        raise self.failure


def describe_failing_with(failure: Exception) -> DomainError:
    with pytest.raises(DomainError) as caught:
        S3DocumentStore(FailingS3(failure), "bucket").describe("uploads/x")
    assert caught.value.__cause__ is failure
    return caught.value


@pytest.mark.parametrize(("code", "status"), [("403", 403), ("AccessDenied", 403), ("InvalidAccessKeyId", 403),
                                               ("NoSuchBucket", 404), ("400", 400)])
def test_an_s3_refusal_is_a_configuration_error_502_not_retry(code: str, status: int) -> None:
    error = describe_failing_with(client_error(code, "HeadObject", status))
    assert type(error) is IntegrationError and status_for(error) == 502
    assert "retry" not in error.message


@pytest.mark.parametrize(("code", "status"), [("503", 503), ("SlowDown", 503), ("500", 500), ("InternalError", 500)])
def test_a_busy_or_failing_s3_is_503_retry(code: str, status: int) -> None:
    assert status_for(describe_failing_with(client_error(code, "HeadObject", status))) == 503


def test_an_unreachable_s3_is_503() -> None:
    assert status_for(describe_failing_with(EndpointConnectionError(endpoint_url="http://s3"))) == 503


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_a_missing_object_is_none_not_an_error(code: str) -> None:
    assert S3DocumentStore(FailingS3(client_error(code, "HeadObject", 404)), "bucket").describe("uploads/x") is None


def test_the_routes_over_the_translated_stores_document_502_and_503() -> None:
    from app import app
    from chalicelib.handlers.openapi import build_openapi

    document = build_openapi(app.routes, version="test")
    for path, operations in document["paths"].items():
        if path.startswith(("/v1/dossiers", "/v1/admin/calendar", "/v1/reports/kpi", "/v1/admin/deadline-watch")) or (
            path.endswith("/paper-free-days")
        ):
            for method, operation in operations.items():
                assert {"502", "503"} <= set(operation["responses"]), f"{method} {path}"


def test_no_such_item_is_not_a_storage_failure() -> None:
    """A GetItem of a missing key is the repository's answer (404 for its entity), never a 502."""
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.store.errors import storage_errors

    with pytest.raises(DoesNotExist), storage_errors():
        raise DoesNotExist()
