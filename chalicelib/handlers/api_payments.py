"""Routes of payments: applicants pay online, officers record desk payments, gateways call back, admins reconcile.

The gateways' callbacks are authenticated by their signatures only (no bearer token) and always answered in the
gateway's own protocol (HTTP 200 with its JSON codes), never with our error shape: VNPay reads `RspCode`, not a 4xx.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from chalice.app import Blueprint, Rate, Response

from chalicelib.bootstrap import container
from chalicelib.domain import access
from chalicelib.domain.errors import DomainError
from chalicelib.domain.payments import PAYMENT_TTL, GatewayName, Outcome, PaymentMethod, SettleResult
from chalicelib.handlers.http import RouteDoc, current_actor, endpoint, json_body, logger, request_id
from chalicelib.handlers.params import DOSSIER_ID
from chalicelib.handlers.telemetry import emit
from chalicelib.handlers.views import payment_view, payments_view
from chalicelib.input_policy import parse_json
from chalicelib.integrations.payment_gateway import MalformedCallbackError, PaymentGateway, SignatureError
from chalicelib.metric_names import PAYMENTS_PENDING_TOO_LONG, PAYMENTS_SETTLED_BY_RECONCILIATION
from chalicelib.services import payments, queries
from chalicelib.topology import RECONCILE_PAYMENTS_SCHEDULE
from chalicelib.validation import conforms

bp = Blueprint(__name__)


def _client_ip() -> str:
    identity = (bp.current_request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "127.0.0.1")


@bp.route("/v1/dossiers/{dossier_id}/payments", methods=["POST"])
@endpoint(RouteDoc(
    summary="Pay the dossier's fees online (its applicant): a payment URL at VNPay or the national payment platform; "
            "while one is pending and valid, asking again returns it (200)",
    request_schema="payment-request.v1.json", response_schema="payment.v1.json", success_status=201,
    path=(DOSSIER_ID,), errors=(400, 401, 403, 404, 409, 422, 502, 503),
))
def request_payment(dossier_id: str) -> Response:
    actor = current_actor(bp)
    body = json_body(bp, "payment-request.v1.json")
    c = container()
    result = payments.request_payment(
        dossier_id, c.payment_gateways[GatewayName(body["gateway"])], c.unit_of_work, actor=actor, now=c.now(),
        new_id=c.new_id, client_ip=_client_ip(), request_id=request_id(bp),
    )
    return Response(body=payment_view(result.payment), status_code=201 if result.created else 200,
                    headers={"Location": f"/v1/dossiers/{dossier_id}/payments"})


@bp.route("/v1/dossiers/{dossier_id}/payments", methods=["GET"])
@endpoint(RouteDoc(summary="A dossier's payments, oldest first, with what it still owes (whoever may read it)",
                   response_schema="payment-list.v1.json", path=(DOSSIER_ID,), errors=(400, 401, 404, 502, 503)))
def list_payments(dossier_id: str) -> dict[str, Any]:
    c, actor = container(), current_actor(bp)
    dossier = queries.readable_dossier(dossier_id, actor, c.dossiers)
    return payments_view(dossier, c.payments.for_dossier(dossier.id))


@bp.route("/v1/dossiers/{dossier_id}/payments/desk", methods=["POST"])
@endpoint(RouteDoc(
    summary="Record a cash or card payment taken at the desk (officers of the agency holding the dossier)",
    request_schema="desk-payment-request.v1.json", response_schema="payment.v1.json", success_status=201,
    path=(DOSSIER_ID,), errors=(400, 401, 403, 404, 409, 422, 502, 503),
))
def record_desk_payment(dossier_id: str) -> Response:
    actor = current_actor(bp)
    body = json_body(bp, "desk-payment-request.v1.json")
    c = container()
    payment = payments.record_desk_payment(
        dossier_id, c.unit_of_work, actor=actor, amount=body["amount"], method=PaymentMethod(body["method"]),
        receipt_number=body["receipt_number"], now=c.now(), new_id=c.new_id, request_id=request_id(bp),
    )
    return Response(body=payment_view(payment), status_code=201,
                    headers={"Location": f"/v1/dossiers/{dossier_id}/payments"})


# --- the gateways' callbacks -------------------------------------------------------------------------------------


def _settle(gateway: PaymentGateway, params: dict[str, str], schema: str) -> dict[str, Any]:
    """Settle a callback and answer in the gateway's protocol, whatever happens: input outside the callback's
    schema cannot carry a valid signature; a failure of ours asks the gateway to retry (VNPay `99`)."""
    c = container()
    if not conforms(schema, params):
        result = SettleResult.SIGNATURE_INVALID
    else:
        try:
            result = payments.settle_callback(gateway, params, c.unit_of_work, now=c.now(), new_id=c.new_id)
        except DomainError as exc:  # DynamoDB busy or unreachable: the gateway retries
            logger.warning("payment callback not settled", extra={"gateway": gateway.name.value, "code": exc.code})
            result = SettleResult.ERROR
        except Exception:  # a bug of ours: logged, and still answered in the gateway's protocol so it retries
            logger.exception("payment callback failed", extra={"gateway": gateway.name.value})
            result = SettleResult.ERROR
    logger.info("payment callback", extra={"gateway": gateway.name.value, "result": result.value})
    return gateway.reply(result)


def _query() -> dict[str, str]:
    query = bp.current_request.query_params
    return {key: query[key] for key in query} if query else {}


@bp.route("/v1/payments/vnpay/ipn", methods=["GET"])
@endpoint(RouteDoc(summary="VNPay's IPN (server to server, signed): settles the payment exactly once and answers "
                           "VNPay's RspCode (00, 01, 02, 04, 97, 99)", auth=False))
def vnpay_ipn() -> dict[str, Any]:
    return _settle(container().payment_gateways[GatewayName.VNPAY], _query(), "vnpay-callback.v1.json")


@bp.route("/v1/payments/paygov/callback", methods=["POST"])
@endpoint(RouteDoc(summary="The national payment platform's result notice (server to server, signed): settles the "
                           "payment exactly once", request_schema="paygov-callback.v1.json", auth=False))
def paygov_callback() -> dict[str, Any]:
    gateway = container().payment_gateways[GatewayName.PAYGOV]
    raw = bp.current_request.raw_body or b""
    try:
        body = parse_json(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    except DomainError:
        return gateway.reply(SettleResult.SIGNATURE_INVALID)
    if not isinstance(body, dict):
        return gateway.reply(SettleResult.SIGNATURE_INVALID)
    return _settle(gateway, body, "paygov-callback.v1.json")


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p><p>Mã giao dịch: {ref}</p></body></html>
"""


def _return_page(gateway: PaymentGateway, params: dict[str, str], schema: str) -> Response:
    """The payer's browser back from the gateway: the outcome in Vietnamese; no state changes (the callback does)."""
    title, message = "Không xác thực được kết quả", "Thông tin trả về không hợp lệ. Vui lòng kiểm tra lại hồ sơ."
    ref = ""
    if conforms(schema, params):
        try:
            report = gateway.verify_callback(params)
        except (SignatureError, MalformedCallbackError):
            pass
        else:
            ref = report.txn_ref
            if report.outcome is Outcome.SUCCEEDED:
                title = "Thanh toán thành công"
                message = (f"Bạn đã thanh toán {report.amount:,} đồng. Hồ sơ sẽ được cập nhật khi cổng thanh toán "
                           "xác nhận.").replace(",", ".")
            else:
                title = "Thanh toán không thành công"
                message = f"Giao dịch không thành công (mã {report.response_code}). Bạn có thể thanh toán lại."
    page = _PAGE.format(title=html.escape(title), message=html.escape(message), ref=html.escape(ref))
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@bp.route("/v1/payments/vnpay/return", methods=["GET"])
@endpoint(RouteDoc(summary="Where VNPay sends the payer back: shows the outcome in Vietnamese (HTML); changes nothing",
                   auth=False, returns_html=True))
def vnpay_return() -> Response:
    return _return_page(container().payment_gateways[GatewayName.VNPAY], _query(), "vnpay-callback.v1.json")


@bp.route("/v1/payments/paygov/return", methods=["GET"])
@endpoint(RouteDoc(summary="Where the national payment platform sends the payer back: shows the outcome in Vietnamese "
                           "(HTML); changes nothing", auth=False, returns_html=True))
def paygov_return() -> Response:
    return _return_page(container().payment_gateways[GatewayName.PAYGOV], _query(), "paygov-callback.v1.json")


# --- reconciliation ---------------------------------------------------------------------------------------------


def _reconcile(older_than: timedelta = PAYMENT_TTL) -> dict[str, int]:
    c = container()
    done = payments.reconcile(c.payments, c.payment_gateways, c.unit_of_work, now=c.now(), new_id=c.new_id,
                              older_than=older_than)
    logger.info("payment reconciliation", extra=done)
    return done


@bp.schedule(Rate(15, unit=Rate.MINUTES), name=RECONCILE_PAYMENTS_SCHEDULE.function)
def reconcile_payments(event: Any) -> dict[str, int]:
    done = _reconcile()
    # Every run, zero included: the dashboard draws a line and the alarm sees each run (at most the run's batch
    # per gateway is looked at, so a backlog beyond it shows as that batch).
    emit(PAYMENTS_PENDING_TOO_LONG, done.get("still_pending", 0) + done.get("unanswered", 0))
    emit(PAYMENTS_SETTLED_BY_RECONCILIATION, done.get(SettleResult.CONFIRMED.value, 0))
    return done


@bp.route("/v1/admin/payments/reconcile", methods=["POST"])
@endpoint(RouteDoc(summary="Reconcile pending payments now (admins): ask the gateways, settle as a callback would",
                   request_schema="reconcile-request.v1.json", response_schema="reconcile-result.v1.json",
                   errors=(400, 401, 403, 502, 503)))
def run_reconciliation() -> dict[str, int]:
    access.require_role(current_actor(bp), access.ADMINISTER)
    body = json_body(bp, "reconcile-request.v1.json")
    return _reconcile(timedelta(minutes=body.get("older_than_minutes", 15)))
