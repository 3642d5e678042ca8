"""Upload rules and the check of an uploaded file, against an in-memory document store."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import DomainError, RuleViolationError, ValidationError
from chalicelib.integrations.documents import PresignedUpload, StoredObject
from chalicelib.services.uploads import (
    MAX_UPLOAD_BYTES,
    RequestUpload,
    request_upload,
    safe_file_name,
    upload_key,
    verify_upload,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CONTENT = b"%PDF-1.7\n" + b"x" * 1000


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class FakeDocumentStore:
    """S3 as a dict: presigning records what was declared; `put` stands in for the client's upload."""

    objects: dict[str, StoredObject] = field(default_factory=dict)
    presigned: dict[str, tuple[str, int, str]] = field(default_factory=dict)

    def presign_upload(self, key: str, content_type: str, size: int, sha256_b64: str) -> PresignedUpload:
        self.presigned[key] = (content_type, size, sha256_b64)
        return PresignedUpload(
            url=f"https://documents.test/{key}?signed",
            method="PUT",
            headers={"Content-Type": content_type, "Content-Length": str(size), "x-amz-checksum-sha256": sha256_b64},
            expires_at=NOW + timedelta(minutes=15),
        )

    def describe(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    def presign_download(self, key: str) -> str:
        return f"https://documents.test/{key}?download"

    def put(self, key: str, data: bytes, content_type: str = "application/pdf", checksum: bool = True) -> None:
        self.objects[key] = StoredObject(len(data), sha256_b64(data) if checksum else None, content_type)


def ids() -> Any:
    return iter(f"up{n:04d}" for n in range(1, 1000)).__next__


def command(**changes: Any) -> RequestUpload:
    base = RequestUpload(
        document_type="to_khai", file_name="Tờ khai.pdf", content_type="application/pdf", size=len(CONTENT),
        sha256=sha256_b64(CONTENT),
    )
    return replace(base, **changes)


def test_a_good_request_gets_a_presigned_put_for_the_declared_file() -> None:
    store = FakeDocumentStore()
    result = request_upload(command(), store, owner_id="citizen-1", new_id=ids())
    assert result == {
        "upload_id": "up0001",
        "key": "uploads/citizen-1/up0001/To-khai.pdf",
        "url": "https://documents.test/uploads/citizen-1/up0001/To-khai.pdf?signed",
        "method": "PUT",
        "headers": {
            "Content-Type": "application/pdf",
            "Content-Length": str(len(CONTENT)),
            "x-amz-checksum-sha256": sha256_b64(CONTENT),
        },
        "expires_at": "2026-11-23T03:15:00.000Z",
    }
    assert store.presigned == {result["key"]: ("application/pdf", len(CONTENT), sha256_b64(CONTENT))}


@pytest.mark.parametrize("content_type", ["application/pdf", "image/jpeg", "image/png", "application/xml", " Image/PNG "])
def test_allowed_content_types(content_type: str) -> None:
    store = FakeDocumentStore()
    result = request_upload(command(content_type=content_type), store, owner_id="u", new_id=ids())
    assert result["headers"]["Content-Type"] == content_type.strip().lower()


@pytest.mark.parametrize(
    ("changes", "error", "code"),
    [
        ({"content_type": "application/msword"}, RuleViolationError, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"content_type": "text/html"}, RuleViolationError, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"content_type": "application/pdf; charset=binary"}, RuleViolationError, "UPLOAD_TYPE_NOT_ALLOWED"),
        ({"size": 0}, ValidationError, "UPLOAD_EMPTY"),
        ({"size": -5}, ValidationError, "UPLOAD_EMPTY"),
        ({"size": MAX_UPLOAD_BYTES + 1}, RuleViolationError, "UPLOAD_TOO_LARGE"),
        ({"sha256": "not base64!"}, ValidationError, "UPLOAD_CHECKSUM_INVALID"),
        ({"sha256": base64.b64encode(b"x" * 31).decode()}, ValidationError, "UPLOAD_CHECKSUM_INVALID"),
        ({"sha256": base64.b64encode(b"x" * 33).decode()}, ValidationError, "UPLOAD_CHECKSUM_INVALID"),
        ({"sha256": hashlib.sha256(CONTENT).hexdigest()}, ValidationError, "UPLOAD_CHECKSUM_INVALID"),  # hex, not base64
    ],
)
def test_refused_requests(changes: dict[str, Any], error: type[DomainError], code: str) -> None:
    store = FakeDocumentStore()
    with pytest.raises(error) as raised:
        request_upload(command(**changes), store, owner_id="u", new_id=ids())
    assert raised.value.code == code
    assert "(" in raised.value.message  # Vietnamese, with English in brackets
    assert store.presigned == {}


@pytest.mark.parametrize("size", [1, MAX_UPLOAD_BYTES])
def test_size_limits_are_inclusive(size: int) -> None:
    result = request_upload(command(size=size), FakeDocumentStore(), owner_id="u", new_id=ids())
    assert result["headers"]["Content-Length"] == str(size)


def test_a_too_large_file_names_the_limit() -> None:
    with pytest.raises(RuleViolationError) as raised:
        request_upload(command(size=MAX_UPLOAD_BYTES + 1), FakeDocumentStore(), owner_id="u", new_id=ids())
    assert raised.value.details == {"max_bytes": 20 * 1024 * 1024}


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Tờ khai.pdf", "To-khai.pdf"),
        ("Giấy chứng sinh – bản sao (1).JPG", "Giay-chung-sinh-ban-sao-1.JPG"),
        ("Đơn đề nghị.png", "Don-de-nghi.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\hoa\\scan.png", "scan.png"),
        (".hidden..pdf", "hidden.pdf"),
        ("ảnh", "anh"),
        ("文件.pdf", "pdf"),
        ("???", "file"),
        ("scan_-.-_2.PDF", "scan.2.PDF"),
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
    ],
)
def test_safe_file_name(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


def test_an_owner_id_cannot_reach_into_another_owners_prefix() -> None:
    assert upload_key("a/b", "up1", "x.pdf") == "uploads/a%2Fb/up1/x.pdf"


# --- verify_upload -----------------------------------------------------------------------------------------


def uploaded(store: FakeDocumentStore, owner: str = "citizen-1", data: bytes = CONTENT, **put: Any) -> str:
    key = request_upload(command(size=len(data), sha256=sha256_b64(data)), store, owner_id=owner, new_id=ids())["key"]
    store.put(key, data, **put)
    return str(key)


def test_verify_accepts_the_declared_file() -> None:
    store = FakeDocumentStore()
    key = uploaded(store)
    verify_upload(key, len(CONTENT), sha256_b64(CONTENT), "citizen-1", store)


def test_verify_refuses_a_key_never_uploaded() -> None:
    store = FakeDocumentStore()
    key = request_upload(command(), store, owner_id="citizen-1", new_id=ids())["key"]
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(key, len(CONTENT), sha256_b64(CONTENT), "citizen-1", store)
    assert raised.value.code == "DOCUMENT_NOT_UPLOADED"


@pytest.mark.parametrize(
    "key",
    [
        "uploads/citizen-2/up0001/To-khai.pdf",
        "uploads/citizen-1x/up0001/To-khai.pdf",
        "uploads/citizen-1/up0001",
        "uploads/citizen-1//To-khai.pdf",
        "uploads/citizen-1/up0001/a/b.pdf",
        "results/citizen-1/up0001/To-khai.pdf",
        "citizen-1/up0001/To-khai.pdf",
    ],
)
def test_verify_refuses_a_key_outside_the_owners_uploads(key: str) -> None:
    store = FakeDocumentStore()
    store.put(key, CONTENT)
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(key, len(CONTENT), sha256_b64(CONTENT), "citizen-1", store)
    assert raised.value.code == "DOCUMENT_NOT_YOURS"


@pytest.mark.parametrize(
    ("stored", "mismatched"),
    [
        (CONTENT + b"!", ["size", "sha256"]),
        (CONTENT[:-1] + b"y", ["sha256"]),  # same size, other bytes: only the checksum tells
    ],
)
def test_verify_refuses_other_bytes_than_declared(stored: bytes, mismatched: list[str]) -> None:
    store = FakeDocumentStore()
    key = uploaded(store)
    store.put(key, stored)
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(key, len(CONTENT), sha256_b64(CONTENT), "citizen-1", store)
    assert raised.value.code == "DOCUMENT_MISMATCH"
    assert raised.value.details["mismatched"] == mismatched


def test_verify_refuses_an_object_stored_without_a_checksum() -> None:
    store = FakeDocumentStore()
    key = uploaded(store, checksum=False)  # not put through one of our URLs, which all bind a checksum
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(key, len(CONTENT), sha256_b64(CONTENT), "citizen-1", store)
    assert raised.value.code == "DOCUMENT_MISMATCH"
    assert raised.value.details["mismatched"] == ["sha256"]
