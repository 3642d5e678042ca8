"""Routes of the postal service: the partners' signed callbacks, and an agency's postal work queue.

A callback is authenticated by its Standard Webhooks signature only (no bearer token), checked on the raw body before
anything is parsed or stored: an unknown partner, a signature no active secret made, or a timestamp outside five
minutes answers 401 `WEBHOOK_SIGNATURE_INVALID` and changes nothing. A signed body outside its schema answers 400.
Anything the callback did, even nothing, is answered 200 with a stable code (`postal-event-ack.v1.json`).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain import access
from chalicelib.domain.errors import UnauthorizedError
from chalicelib.handlers.http import (
    Param,
    RouteDoc,
    current_actor,
    endpoint,
    json_body,
    logger,
    query_params,
    request_id,
)
from chalicelib.handlers.params import AGENCY_CODE, DOSSIER_ID, LIMIT
from chalicelib.handlers.telemetry import emit
from chalicelib.handlers.views import postal_queue_view, postal_task_view
from chalicelib.integrations.postal_partner import SignatureError
from chalicelib.metric_names import POSTAL_CALLBACKS_REJECTED
from chalicelib.services import postal

bp = Blueprint(__name__)

PARTNER = Param("partner", "the postal partner's name, e.g. vnpost",
                {"type": "string", "pattern": "^[a-z0-9_]{1,32}$", "maxLength": 32}, required=True)
# Not required here: a callback without them is answered as unsigned (401), not as malformed.
WEBHOOK_ID = Param("webhook-id", "Standard Webhooks: the message id, the same on every retry",
                   {"type": "string", "pattern": "^[!-~]{1,128}$", "maxLength": 128})
WEBHOOK_TIMESTAMP = Param("webhook-timestamp", "Standard Webhooks: seconds since the epoch; five minutes either way",
                          {"type": "string", "pattern": "^[!-~]{1,32}$", "maxLength": 32})
WEBHOOK_SIGNATURE = Param("webhook-signature", "Standard Webhooks: `v1,{base64 HMAC-SHA256}`, space-separated",
                          {"type": "string", "pattern": "^[!-~]{1,200}( [!-~]{1,200}){0,4}$", "maxLength": 1024})
NOT_SIGNED = "Chữ ký không hợp lệ. (The callback is not signed by a known partner, or its timestamp is stale.)"


@bp.route("/v1/partners/{partner}/postal-events", methods=["POST"])
@endpoint(RouteDoc(
    summary="A postal partner's shipment event, signed per Standard Webhooks: applied exactly once per webhook-id, "
            "in occurred_at order (a shipment never moves back)",
    request_schema="postal-event.v1.json", response_schema="postal-event-ack.v1.json", auth=False,
    path=(PARTNER,), headers=(WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE), errors=(400, 401, 409, 502, 503),
    max_body_bytes=4 * 1024,
))
def postal_event(partner: str) -> dict[str, Any]:
    c = container()
    request = bp.current_request
    raw = request.raw_body or b""
    headers = {name: request.headers.get(name) or "" for name in ("webhook-id", "webhook-timestamp",
                                                                     "webhook-signature")}
    try:
        c.postal_webhooks.verify(partner, raw if isinstance(raw, bytes) else raw.encode("utf-8"), headers)
    except SignatureError as exc:
        logger.warning("postal callback refused", extra={"partner": partner, "why": str(exc)})
        emit(POSTAL_CALLBACKS_REJECTED, 1)
        raise UnauthorizedError(NOT_SIGNED, code="WEBHOOK_SIGNATURE_INVALID") from exc
    body = json_body(bp, "postal-event.v1.json")
    answer = postal.apply_callback(partner, headers["webhook-id"], body, c.unit_of_work, now=c.now(),
                                   new_id=c.new_id, calendar_for=c.calendar_for)
    logger.info("postal callback", extra={"partner": partner, **answer.as_dict()})
    return answer.as_dict()


@bp.route("/v1/agencies/{agency_code}/postal-queue", methods=["GET"])
@endpoint(RouteDoc(
    summary="An agency's postal work (officers of that agency or above, admins): failed or returned shipments and "
            "reports that could not apply first, then shipments under way by J+n day, overdue ones flagged",
    response_schema="postal-queue.v1.json", path=(AGENCY_CODE,), query=(LIMIT,), errors=(400, 401, 403, 404, 502, 503),
))
def postal_queue(agency_code: str) -> dict[str, Any]:
    actor = current_actor(bp)
    c = container()
    access.require_role(actor, access.AGENCY_DATA)
    agency = c.catalogue.agency(agency_code)
    access.require_agency_scope(actor, agency, ("hàng đợi bưu chính", "postal queue"))
    return postal_queue_view(agency.code, c.postal_queue.postal_queue(agency.code, query_params(bp)["limit"]), c.now())


TASK_ID = Param("task_id", "a postal task's id (32 hex characters)",
                {"type": "string", "pattern": "^[0-9a-f]{32}$", "maxLength": 32}, required=True)


@bp.route("/v1/dossiers/{dossier_id}/postal-tasks/{task_id}/close", methods=["POST"])
@endpoint(RouteDoc(
    summary="Close a postal task of the dossier once seen to (officers of the agency holding it); closing it again "
            "changes nothing",
    request_schema="postal-task-close.v1.json", response_schema="postal-task.v1.json", path=(DOSSIER_ID, TASK_ID),
    errors=(400, 401, 403, 404, 409, 502, 503),
))
def close_postal_task(dossier_id: str, task_id: str) -> dict[str, Any]:
    actor = current_actor(bp)
    body = json_body(bp, "postal-task-close.v1.json")
    c = container()
    task = postal.close_task(dossier_id, task_id, c.unit_of_work, actor=actor, now=c.now(), note=body.get("note"),
                             request_id=request_id(bp))
    return postal_task_view(task)


@bp.route("/v1/partners/{partner}/unmatched-events", methods=["GET"])
@endpoint(RouteDoc(
    summary="A postal partner's signed callbacks that named no shipment of ours, newest first (administrators): kept "
            "whole for someone to take up with the partner",
    response_schema="postal-unmatched.v1.json", path=(PARTNER,), query=(LIMIT,), errors=(400, 401, 403, 502, 503),
))
def unmatched_events(partner: str) -> dict[str, Any]:
    actor = current_actor(bp)
    access.require_role(actor, access.ADMINISTER)
    return {"partner": partner, "items": container().postal_queue.unmatched(partner, query_params(bp)["limit"])}
