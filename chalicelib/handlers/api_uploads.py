"""Routes for document files: a presigned URL to upload one declared file straight to S3."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.bootstrap import container
from chalicelib.domain import access
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, json_body
from chalicelib.services.uploads import RequestUpload, request_upload

bp = Blueprint(__name__)

@bp.route("/v1/uploads", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Declare a file (type, size, SHA-256) and get a presigned URL to upload it",
        request_schema="upload-request.v1.json",
        response_schema="upload.v1.json",
        success_status=201,
        errors=(400, 401, 403, 422),
    )
)
def create_upload() -> Response:
    actor = current_actor(bp)
    access.require_role(actor, access.UPLOAD)
    body = json_body(bp, "upload-request.v1.json")
    command = RequestUpload(
        document_type=body["document_type"],
        file_name=body["file_name"],
        content_type=body["content_type"],
        size=body["size"],
        sha256=body["sha256"],
    )
    c = container()
    result = request_upload(command, c.documents, owner_id=actor.user_id, new_id=c.new_id)
    return Response(body=result, status_code=201)
