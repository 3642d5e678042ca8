"""Routes of notifications: the applicant's inbox and preferences, and the providers' signed delivery receipts."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.bootstrap import container
from chalicelib.domain.errors import UnauthorizedError
from chalicelib.domain.events import iso_utc
from chalicelib.domain.notifications import OPTIONAL_CHANNELS, Notification, Preferences
from chalicelib.handlers.http import (
    Param,
    RouteDoc,
    current_actor,
    decode_cursor,
    encode_cursor,
    endpoint,
    header_params,
    json_body,
    logger,
    query_params,
)
from chalicelib.handlers.params import CURSOR, LIMIT
from chalicelib.handlers.telemetry import emit
from chalicelib.integrations.messaging_config import ReceiptSignatureError
from chalicelib.metric_names import DELIVERY_RECEIPTS_REJECTED
from chalicelib.services import inbox
from chalicelib.services.delivery_receipts import apply_receipt

bp = Blueprint(__name__)

NOTIFICATION_ID = Param("notification_id", "a notification's id (32 hex characters)",
                        {"type": "string", "pattern": "^[0-9a-f]{32}$", "maxLength": 32}, required=True)
PROVIDER = Param("provider", "the messaging provider sending the receipt",
                 {"type": "string", "enum": ["vnpt", "zalo"]}, required=True)
WEBHOOK_HEADERS = (
    Param("webhook-id", "Standard Webhooks: the message's unique id (the same on a retry)",
          {"type": "string", "pattern": "^[!-~]{1,256}$", "maxLength": 256}, required=True),
    Param("webhook-timestamp", "Standard Webhooks: seconds since the epoch; refused outside ±5 minutes",
          {"type": "string", "pattern": "^[0-9]{1,12}$", "maxLength": 12}, required=True),
    Param("webhook-signature", "Standard Webhooks: space-separated `v1,{base64 HMAC-SHA256}`",
          {"type": "string", "pattern": "^[!-~]+( [!-~]+)*$", "maxLength": 1024}, required=True),
)
SIGNATURE_INVALID = "Chữ ký không hợp lệ. (The webhook signature does not verify.)"


def inbox_view(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "dossier_id": n.dossier_id, "dossier_code": n.dossier_code, "event_type": n.event_type,
            "title": n.content.subject or "", "text": n.content.text, "link": n.content.link or "",
            "template": n.template, "occurred_at": iso_utc(n.occurred_at), "created_at": iso_utc(n.created_at),
            "read_at": iso_utc(n.read_at) if n.read_at else None}


def preferences_view(p: Preferences) -> dict[str, Any]:
    return {**{channel.value: p.allows(channel) for channel in OPTIONAL_CHANNELS}, "inbox": True}


@bp.route("/v1/me/notifications", methods=["GET"])
@endpoint(RouteDoc(summary="The caller's inbox: notices about their dossiers, newest first", query=(LIMIT, CURSOR),
                   response_schema="inbox-page.v1.json", errors=(400, 401, 502, 503)))
def my_notifications() -> dict[str, Any]:
    actor = current_actor(bp)
    params = query_params(bp)
    items, next_key = inbox.list_inbox(actor.user_id, params["limit"], decode_cursor(params.get("cursor")),
                                       container().notifications)
    return {"items": [inbox_view(n) for n in items], "next_cursor": encode_cursor(next_key)}


@bp.route("/v1/me/notifications/{notification_id}/read", methods=["POST"])
@endpoint(RouteDoc(summary="Mark one of the caller's notices read (again: no change)", path=(NOTIFICATION_ID,),
                   response_schema="inbox-notification.v1.json", errors=(400, 401, 404, 502, 503)))
def read_notification(notification_id: str) -> dict[str, Any]:
    actor = current_actor(bp)
    return inbox_view(inbox.mark_read(actor.user_id, notification_id, container().notifications))


@bp.route("/v1/me/preferences", methods=["GET"])
@endpoint(RouteDoc(summary="Which channels tell the caller about their dossiers", response_schema="preferences.v1.json",
                   errors=(401, 502, 503)))
def my_preferences() -> dict[str, Any]:
    actor = current_actor(bp)
    return preferences_view(container().notifications.preferences(actor.user_id))


@bp.route("/v1/me/preferences", methods=["PUT"])
@endpoint(RouteDoc(summary="Opt in or out of SMS, email or Zalo notices (the inbox cannot be turned off)",
                   request_schema="preferences-request.v1.json", response_schema="preferences.v1.json",
                   errors=(400, 401, 502, 503)))
def put_preferences() -> dict[str, Any]:
    actor = current_actor(bp)
    body = json_body(bp, "preferences-request.v1.json")
    return preferences_view(inbox.set_preferences(actor.user_id, body, container().notifications))


@bp.route("/v1/partners/{provider}/delivery-receipts", methods=["POST"])
@endpoint(RouteDoc(
    summary="A messaging provider reports delivery (Standard Webhooks signature): moves the notice forward only; "
            "duplicates and unknown references are acknowledged (200) so the provider stops retrying",
    path=(PROVIDER,), headers=WEBHOOK_HEADERS, request_schema="delivery-receipt.v1.json",
    response_schema="delivery-receipt-result.v1.json", auth=False, errors=(400, 401, 502, 503),
))
def delivery_receipt(provider: str) -> dict[str, Any]:
    c = container()
    raw = bp.current_request.raw_body or b""
    try:  # the signature first: nothing unsigned is parsed, validated or stored
        c.messaging.verify_receipt(provider, raw if isinstance(raw, bytes) else raw.encode("utf-8"), header_params(bp))
    except ReceiptSignatureError as exc:
        logger.warning("delivery receipt refused", extra={"provider": provider, "why": str(exc)})
        emit(DELIVERY_RECEIPTS_REJECTED, 1)
        raise UnauthorizedError(SIGNATURE_INVALID, code="WEBHOOK_SIGNATURE_INVALID") from exc
    body = json_body(bp, "delivery-receipt.v1.json")
    result = apply_receipt(provider, body["reference"], body["status"], c.notifications, c.counters)
    logger.info("delivery receipt", extra={"provider": provider, "reference": body["reference"],
                                           "status": body["status"], "result": result.value})
    return {"result": result.value}
