"""Document uploads: hand out a presigned URL for one declared file, and check later that S3 holds exactly it.

Keys are `uploads/{owner}/{upload id}/{safe file name}`, so a key says whose it is without a lookup.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from chalicelib.domain.errors import RuleViolationError, ValidationError
from chalicelib.domain.events import iso_utc
from chalicelib.integrations.documents import DocumentStore

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ALLOWED_CONTENT_TYPES: tuple[str, ...] = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "application/xml",  # the national e-form (tờ khai điện tử)
)
UPLOAD_PREFIX = "uploads"
MAX_FILE_NAME = 100
SHA256_BYTES = 32


@dataclass(frozen=True)
class RequestUpload:
    document_type: str
    file_name: str
    content_type: str
    size: int
    sha256: str  # base64 of the 32-byte digest, as S3's x-amz-checksum-sha256 carries it


def owner_prefix(owner_id: str) -> str:
    return f"{UPLOAD_PREFIX}/{quote(owner_id, safe='')}/"  # quoted: a subject with '/' must not reach another's


def safe_file_name(name: str) -> str:
    """The file name as ASCII letters, digits, '.', '-' and '_' (Vietnamese letters lose their marks), ≤ 100."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("đ", "d").replace("Đ", "D")
    ascii_only = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[-_]*\.[-_.]*", ".", re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_only)).strip(".-_")
    if len(cleaned) > MAX_FILE_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = f"{stem[: MAX_FILE_NAME - len(extension) - 1].rstrip('.-_')}.{extension}"
        else:
            cleaned = cleaned[:MAX_FILE_NAME]
    return cleaned or "file"


def upload_key(owner_id: str, upload_id: str, file_name: str) -> str:
    return f"{owner_prefix(owner_id)}{upload_id}/{safe_file_name(file_name)}"


def _check_sha256(value: str) -> None:
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad_checksum() from exc
    if len(digest) != SHA256_BYTES:
        raise _bad_checksum()


def _bad_checksum() -> ValidationError:
    return ValidationError(
        "Mã kiểm tra sha256 phải là base64 của 32 byte SHA-256 của tệp. (sha256 must be the base64 of the file's "
        "32-byte SHA-256 digest.)",
        code="UPLOAD_CHECKSUM_INVALID",
    )


def request_upload(
    cmd: RequestUpload, documents: DocumentStore, *, owner_id: str, new_id: Callable[[], str]
) -> dict[str, Any]:
    """Check the declared file against the rules and return where and how to PUT it (`upload.v1.json`)."""
    content_type = cmd.content_type.strip().lower()
    if content_type not in ALLOWED_CONTENT_TYPES:
        raise RuleViolationError(
            f"Loại tệp '{cmd.content_type}' không được chấp nhận; chỉ nhận PDF, JPEG, PNG hoặc tờ khai XML. "
            f"(File type not allowed: {', '.join(ALLOWED_CONTENT_TYPES)}.)",
            code="UPLOAD_TYPE_NOT_ALLOWED",
            details={"allowed": list(ALLOWED_CONTENT_TYPES)},
        )
    if cmd.size < 1:
        raise ValidationError("Tệp rỗng: kích thước phải từ 1 byte. (The file is empty.)", code="UPLOAD_EMPTY")
    if cmd.size > MAX_UPLOAD_BYTES:
        raise RuleViolationError(
            f"Tệp quá lớn: tối đa {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB. "
            f"(The file is larger than {MAX_UPLOAD_BYTES} bytes.)",
            code="UPLOAD_TOO_LARGE",
            details={"max_bytes": MAX_UPLOAD_BYTES},
        )
    _check_sha256(cmd.sha256)
    upload_id = new_id()
    key = upload_key(owner_id, upload_id, cmd.file_name)
    presigned = documents.presign_upload(key, content_type, cmd.size, cmd.sha256)
    return {
        "upload_id": upload_id,
        "key": key,
        "url": presigned.url,
        "method": presigned.method,
        "headers": dict(presigned.headers),
        "expires_at": iso_utc(presigned.expires_at),
    }


def verify_upload(
    key: str, expected_size: int, expected_sha256_b64: str, owner_id: str, documents: DocumentStore
) -> None:
    """Raise unless `key` is one of the owner's uploads and S3 holds there exactly the declared file.

    The checksum S3 reports is compared, not just the size: the presigned URL binds the checksum, so on AWS a
    different body is refused at upload; where that is not enforced (moto), this comparison still catches it.
    """
    prefix = owner_prefix(owner_id)
    upload_id, _, name = key.removeprefix(prefix).partition("/")
    if not key.startswith(prefix) or not upload_id or not name or "/" in name:
        raise RuleViolationError(
            "Tệp đính kèm không thuộc về bạn. (The document is not one of your uploads.)",
            code="DOCUMENT_NOT_YOURS",
            details={"key": key},
        )
    stored = documents.describe(key)
    if stored is None:
        raise RuleViolationError(
            "Tệp đính kèm chưa được tải lên. (The document has not been uploaded.)",
            code="DOCUMENT_NOT_UPLOADED",
            details={"key": key},
        )
    mismatched = [
        field
        for field, same in (("size", stored.size == expected_size), ("sha256", stored.sha256 == expected_sha256_b64))
        if not same
    ]
    if mismatched:
        raise RuleViolationError(
            "Tệp đã tải lên khác với tệp đã khai báo (kích thước hoặc mã kiểm tra). "
            "(The uploaded file differs from the declared one.)",
            code="DOCUMENT_MISMATCH",
            details={"key": key, "mismatched": mismatched},
        )
