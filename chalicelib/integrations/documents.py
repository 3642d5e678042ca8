"""Document files in S3: presigned uploads bound to a declared size, type and SHA-256, and what S3 holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import IntegrationError, UpstreamUnavailableError

URL_TTL = timedelta(minutes=15)
CHECKSUM_ALGORITHM = "SHA256"
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# What says "not now" (a retry may succeed); anything else, an AccessDenied/403 first of all, is our configuration
# (the function's role, the bucket's policy or name) and retrying will not mend it.
RETRYABLE_CODES = frozenset({"500", "503", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout",
                             "Throttling", "ThrottlingException", "RequestLimitExceeded"})
UNAVAILABLE = "Kho tài liệu tạm thời không phản hồi; vui lòng thử lại. (The document store is unavailable; retry.)"
MISCONFIGURED = "Kho tài liệu từ chối yêu cầu. (The document store refused the request.)"


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str]  # to be sent exactly as given: each one is part of the signature
    expires_at: datetime


@dataclass(frozen=True)
class StoredObject:
    size: int
    sha256: str | None  # base64, as S3 reports it; None where the object was stored without one
    content_type: str | None


class DocumentStore(Protocol):
    def presign_upload(self, key: str, content_type: str, size: int, sha256_b64: str) -> PresignedUpload:
        """A URL that accepts one PUT of exactly the declared file at `key`, and nothing else."""
        ...

    def describe(self, key: str) -> StoredObject | None:
        """What is stored at `key`, or None if nothing is."""
        ...

    def presign_download(self, key: str) -> str:
        """A URL that reads the file at `key` for a short while."""
        ...


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def s3_error(exc: ClientError) -> IntegrationError:
    """A failed S3 call as the domain error it means: 503 and retry when S3 is busy or failing, else 502."""
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if _code(exc) in RETRYABLE_CODES or status >= 500:
        return UpstreamUnavailableError(UNAVAILABLE)
    return IntegrationError(MISCONFIGURED)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class S3DocumentStore:
    """The client must sign with SigV4 (`Config(signature_version="s3v4")`): only then are the headers below
    signed; with SigV2 botocore moves them into the query string, where S3 does not hold the body to them."""

    def __init__(self, client: Any, bucket: str, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._client = client
        self._bucket = bucket
        self._now = now

    def presign_upload(self, key: str, content_type: str, size: int, sha256_b64: str) -> PresignedUpload:
        expires_at = self._now() + URL_TTL
        # Content-Type, Content-Length and the checksum are signed headers: S3 refuses a PUT whose headers differ
        # from these, and (x-amz-checksum-sha256) a body whose SHA-256 differs from the declared one.
        url = self._client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size,
                "ChecksumAlgorithm": CHECKSUM_ALGORITHM,
                "ChecksumSHA256": sha256_b64,
            },
            ExpiresIn=int(URL_TTL.total_seconds()),
            HttpMethod="PUT",
        )
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(size),
            "x-amz-checksum-sha256": sha256_b64,
            "x-amz-sdk-checksum-algorithm": CHECKSUM_ALGORITHM,
        }
        return PresignedUpload(url=str(url), method="PUT", headers=headers, expires_at=expires_at)

    def describe(self, key: str) -> StoredObject | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _code(exc) in NOT_FOUND_CODES:
                return None
            raise s3_error(exc) from exc
        except BotoCoreError as exc:  # no answer at all: a timeout, a refused connection
            raise UpstreamUnavailableError(UNAVAILABLE) from exc
        return StoredObject(
            size=int(head["ContentLength"]),
            sha256=head.get("ChecksumSHA256"),
            content_type=head.get("ContentType"),
        )

    def presign_download(self, key: str) -> str:
        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=int(URL_TTL.total_seconds())
        )
        return str(url)
