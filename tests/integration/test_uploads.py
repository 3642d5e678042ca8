"""Uploads against moto's S3 server: the presigned URL from the API takes the file; S3's report is checked.

moto accepts any PUT to a presigned URL without checking its signature, and stores the checksum the client
claims without comparing it with the body. So on moto a different file is never refused at upload, as S3
refuses it (403 for a changed signed header, 400 BadDigest for a body that does not match its checksum); these
tests show that `verify_upload`, comparing the size and the SHA-256 that S3 reports, still catches it.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import topology
from chalicelib.bootstrap import container
from chalicelib.domain.errors import RuleViolationError
from chalicelib.services.uploads import verify_upload
from chalicelib.validation import validate
from infra.local.stack import STAGE, LocalStack
from infra.provision import ensure_buckets
from tests.support import Api

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def declare(api: Api, token: str, data: bytes = PDF, **changes: Any) -> Any:
    body = {"document_type": "to_khai", "file_name": "Tờ khai đăng ký khai sinh.pdf", "content_type": "application/pdf",
            "size": len(data), "sha256": sha256_b64(data)} | changes
    return api.call("POST", "/v1/uploads", body, token=token)


def put(url: str, data: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_declared_file_goes_up_through_its_presigned_url(api: Api, stack: LocalStack) -> None:
    owner = "upload-1"
    reply = declare(api, api.token("citizen", sub=owner))
    assert reply.status == 201, reply.body
    upload = reply.body
    validate("upload.v1.json", upload)
    assert upload["key"] == f"uploads/{owner}/{upload['upload_id']}/To-khai-dang-ky-khai-sinh.pdf"
    signed = parse_qs(urlsplit(upload["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert {name.lower() for name in upload["headers"]} <= set(signed)  # every header we hand out is signed
    assert {"content-type", "content-length", "x-amz-checksum-sha256"} <= set(signed)

    assert put(upload["url"], PDF, upload["headers"]) == 200

    documents = container().documents
    stored = documents.describe(upload["key"])
    assert stored is not None
    assert (stored.size, stored.sha256, stored.content_type) == (len(PDF), sha256_b64(PDF), "application/pdf")
    verify_upload(upload["key"], len(PDF), sha256_b64(PDF), owner, documents)
    with urllib.request.urlopen(documents.presign_download(upload["key"]), timeout=30) as response:
        assert response.read() == PDF


@pytest.mark.parametrize(
    ("data", "drop", "mismatched"),
    [
        (PDF[:-1] + b"!", "x-amz-checksum-sha256", ["sha256"]),  # same size, other bytes, the claimed checksum left out
        (PDF + b"more", "Content-Length", ["size"]),  # moto keeps the claimed checksum; the size still differs
    ],
)
def test_other_bytes_than_declared_are_refused(api: Api, data: bytes, drop: str, mismatched: list[str]) -> None:
    owner = f"upload-mismatch-{len(mismatched)}"
    upload = declare(api, api.token("citizen", sub=owner)).body
    headers = {name: value for name, value in upload["headers"].items() if name != drop}
    status = put(upload["url"], data, headers)
    if status == 200:  # moto: nothing checked at upload
        with pytest.raises(RuleViolationError) as raised:
            verify_upload(upload["key"], len(PDF), sha256_b64(PDF), owner, container().documents)
        assert raised.value.code == "DOCUMENT_MISMATCH"
        assert raised.value.details["mismatched"] == mismatched
    else:  # S3: the signature no longer matches
        assert status == 403


def test_a_declared_file_not_yet_uploaded_is_not_there(api: Api) -> None:
    upload = declare(api, api.token("citizen", sub="upload-late")).body
    documents = container().documents
    assert documents.describe(upload["key"]) is None
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(upload["key"], len(PDF), sha256_b64(PDF), "upload-late", documents)
    assert raised.value.code == "DOCUMENT_NOT_UPLOADED"


def test_someone_elses_upload_is_refused(api: Api) -> None:
    upload = declare(api, api.token("organisation", sub="upload-owner")).body
    assert put(upload["url"], PDF, upload["headers"]) == 200
    with pytest.raises(RuleViolationError) as raised:
        verify_upload(upload["key"], len(PDF), sha256_b64(PDF), "upload-other", container().documents)
    assert raised.value.code == "DOCUMENT_NOT_YOURS"


@pytest.mark.parametrize(
    ("role", "changes", "status", "code"),
    [
        ("citizen", {"size": 20 * 1024 * 1024 + 1}, 422, "UPLOAD_TOO_LARGE"),
        ("officer", {"content_type": "application/zip"}, 422, "UPLOAD_TYPE_NOT_ALLOWED"),
        ("citizen", {"sha256": "abc"}, 400, "UPLOAD_CHECKSUM_INVALID"),
        ("citizen", {"size": 0}, 400, "UPLOAD_EMPTY"),
        ("citizen", {"owner_id": "someone-else"}, 400, "VALIDATION_FAILED"),
        ("admin", {}, 403, "ROLE_NOT_ALLOWED"),
    ],
)
def test_refused_declarations_over_http(api: Api, role: str, changes: dict[str, Any], status: int, code: str) -> None:
    reply = declare(api, api.token(role, sub=f"upload-{role}"), **changes)
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body


def test_no_token_no_upload(api: Api) -> None:
    body = {"document_type": "to_khai", "file_name": "a.pdf", "content_type": "application/pdf", "size": 1,
            "sha256": sha256_b64(b"a")}
    assert api.call("POST", "/v1/uploads", body).status == 401


def test_buckets_are_provisioned_once(stack: LocalStack) -> None:
    s3 = stack.client("s3")
    ensure_buckets(s3, STAGE)  # again, as `make run` does on every start
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names.count(topology.DOCUMENTS_BUCKET.physical(STAGE)) == 1


def test_a_submission_records_its_uploaded_components_and_refuses_files_that_are_not_there(api: Api) -> None:
    from tests.support import commune, submission

    owner = "upload-submit"
    token = api.token("citizen", sub=owner)
    upload = declare(api, token).body
    assert put(upload["url"], PDF, upload["headers"]) == 200
    body = submission(agency_code=commune(17))
    file = {"key": upload["key"], "size": len(PDF), "sha256": sha256_b64(PDF)}
    body["documents"][0]["file"] = file
    created = api.call("POST", "/v1/dossiers", body, token=token)
    assert created.status == 201, created.body
    assert created.body["documents"][0]["file"] == file

    missing = {**file, "key": f"uploads/{owner}/nope/to-khai.pdf"}
    body["documents"][0]["file"] = missing
    refused = api.call("POST", "/v1/dossiers", body, token=token)
    assert (refused.status, refused.body["error"]["code"]) == (422, "DOCUMENT_NOT_UPLOADED")

    body["documents"][0]["file"] = file
    theirs = api.call("POST", "/v1/dossiers", body, token=api.token("citizen", sub="someone-else"))
    assert (theirs.status, theirs.body["error"]["code"]) == (422, "DOCUMENT_NOT_YOURS")

    body["documents"][0]["file"] = {**file, "size": len(PDF) + 1}
    wrong = api.call("POST", "/v1/dossiers", body, token=token)
    assert (wrong.status, wrong.body["error"]["code"]) == (422, "DOCUMENT_MISMATCH")
