"""Routes for applicants' dossiers: submit, read one, list one's own."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.bootstrap import container
from chalicelib.communes import is_commune_of
from chalicelib.domain import access
from chalicelib.domain.actions import ActOnDossier
from chalicelib.domain.dossier import Applicant, Document, DocumentFile, SubmitDossier
from chalicelib.domain.errors import NotFoundError, ValidationError
from chalicelib.domain.idempotency import request_hash
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.shipments import Address
from chalicelib.domain.vocabulary import ApplicantKind, Channel, ResultDelivery
from chalicelib.handlers.http import (
    RouteDoc,
    current_actor,
    decode_cursor,
    encode_cursor,
    endpoint,
    header_params,
    json_body,
    query_params,
    request_id,
)
from chalicelib.handlers.params import ACTION, CURSOR, DOSSIER_ID, IDEMPOTENCY_KEY, LIMIT
from chalicelib.handlers.views import dossier_view, history_view
from chalicelib.services import queries
from chalicelib.services.lifecycle import act_on_dossier
from chalicelib.services.submission import submit_dossier

bp = Blueprint(__name__)

def _address(body: dict[str, Any], name: str) -> Address | None:
    """An address of the body, its commune checked against its province (the national list)."""
    data = body.get(name)
    if data is None:
        return None
    if not is_commune_of(data["province_code"], data["commune_code"]):
        raise ValidationError(
            f"Mã xã/phường {data['commune_code']} không thuộc tỉnh/thành phố {data['province_code']}. "
            "(The commune is not in that province, or a code is unknown.)",
            code="ADDRESS_INVALID", details={"field": name},
        )
    return Address(street=data["street"].strip(), commune_code=data["commune_code"],
                   province_code=data["province_code"], recipient_name=data["recipient_name"].strip(),
                   phone=data["phone"])


def _command(body: dict[str, Any], owner_id: str) -> SubmitDossier:
    applicant = body["applicant"]
    return SubmitDossier(
        owner_id=owner_id,
        procedure_code=body["procedure_code"],
        agency_code=body["agency_code"],
        channel=Channel(body["channel"]),
        applicant=Applicant(
            kind=ApplicantKind(applicant["kind"]),
            name=applicant["name"].strip(),
            national_id=applicant["national_id"],
            phone=applicant["phone"],
            email=applicant.get("email"),
        ),
        documents=tuple(
            Document(d["type"], d["name"], DocumentFile(**d["file"]) if "file" in d else None) for d in body["documents"]
        ),
        result_delivery=ResultDelivery(body["result_delivery"]),
        pickup_address=_address(body, "pickup_address"),
        delivery_address=_address(body, "delivery_address"),
    )


@bp.route("/v1/dossiers", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Submit a dossier",
        request_schema="submit-dossier.v1.json",
        response_schema="dossier.v1.json",
        success_status=201,
        headers=(IDEMPOTENCY_KEY,),
        errors=(400, 401, 403, 404, 422, 502, 503),
        max_body_bytes=128 * 1024,  # 50 components with names and file references fit in a quarter of this
    )
)
def submit() -> Response:
    actor = current_actor(bp)
    access.require_role(actor, access.SUBMIT)
    body = json_body(bp, "submit-dossier.v1.json")
    key = header_params(bp).get(IDEMPOTENCY_KEY.name)
    c = container()
    now = c.now()
    result = submit_dossier(
        _command(body, actor.user_id),
        c.unit_of_work(),
        actor=actor,
        calendar_for=c.calendar_for,
        now=now,
        new_id=c.new_id,
        render=lambda dossier: dossier_view(dossier, now, actor),
        documents=c.documents,
        idempotency_key=key,
        body_hash=request_hash(body),
        request_id=request_id(bp),
        paper_free=c.paper_free_days,
    )
    headers: dict[str, str | list[str]] = {"Location": f"/v1/dossiers/{result.body['id']}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=result.body, status_code=result.status_code, headers=headers)


@bp.route("/v1/dossiers/{dossier_id}", methods=["GET"])
@endpoint(RouteDoc(summary="Read a dossier (its owner, its agency's officers, admins)",
                   response_schema="dossier.v1.json", path=(DOSSIER_ID,), errors=(400, 401, 404, 502, 503)))
def get_one(dossier_id: str) -> dict[str, Any]:
    c, actor = container(), current_actor(bp)
    return dossier_view(queries.readable_dossier(dossier_id, actor, c.dossiers), c.now(), actor)


@bp.route("/v1/dossiers", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="List the caller's own dossiers, newest first",
        response_schema="dossier-page.v1.json",
        query=(LIMIT, CURSOR),
        errors=(400, 401, 403, 502, 503),
    )
)
def list_mine() -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    c = container()
    page, next_key = queries.list_my_dossiers(actor, params["limit"], decode_cursor(params.get("cursor")), c.dossiers)
    now = c.now()
    return {"items": [dossier_view(d, now, actor) for d in page], "next_cursor": encode_cursor(next_key)}


def _action(name: str) -> Action:
    try:
        return Action(name.replace("-", "_"))
    except ValueError:
        raise NotFoundError(
            f"Không có thao tác '{name}'. (Unknown action; see allowed_actions on the dossier.)",
            code="ACTION_UNKNOWN",
            details={"actions": [a.slug for a in Action]},
        ) from None


@bp.route("/v1/dossiers/{dossier_id}/actions/{action}", methods=["POST"])
@endpoint(
    RouteDoc(
        summary="Take a lifecycle action (officers: receive, refuse-at-door, request-supplement, start-processing, "
        "transfer, request-fees, confirm-fees, approve, refuse, stop, mark-result-ready, return-result, apologise; "
        "applicants: withdraw, resubmit-supplement, rate)",
        request_schema="dossier-action.v1.json",
        response_schema="dossier.v1.json",
        path=(DOSSIER_ID, ACTION),
        errors=(400, 401, 403, 404, 409, 422, 502, 503),
    )
)
def take_action(dossier_id: str, action: str) -> dict[str, Any]:
    actor = current_actor(bp)
    chosen = _action(action)
    body = json_body(bp, f"action-{chosen.slug}.v1.json")
    c = container()
    cmd = ActOnDossier(dossier_id, chosen, body["expected_version"], body)
    now = c.now()
    dossier = act_on_dossier(
        cmd, c.unit_of_work(), actor=actor, calendar_for=c.calendar_for, now=now, new_id=c.new_id,
        request_id=request_id(bp), supplement_policy=c.settings.supplement_policy,
    )
    return dossier_view(dossier, now, actor)


@bp.route("/v1/dossiers/{dossier_id}/history", methods=["GET"])
@endpoint(RouteDoc(summary="The dossier's audit trail, oldest first (applicants do not see internal notes)",
                   response_schema="history.v1.json", path=(DOSSIER_ID,), errors=(400, 401, 404, 502, 503)))
def history(dossier_id: str) -> dict[str, Any]:
    actor = current_actor(bp)
    return history_view(dossier_id, queries.dossier_history(dossier_id, actor, container().dossiers), actor)
