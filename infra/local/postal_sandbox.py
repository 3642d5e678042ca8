"""A local stand-in for the postal partner: it takes shipment orders as the partner's API does, and calls the API back
with callbacks signed per Standard Webhooks (the `standardwebhooks` package, the partner's first active secret).
`make run` and the test stack start one on 127.0.0.1 (a free port; `POSTAL_API_URL` points the API at it).

Partner API (bearer token)   POST /shipments                 an order: one shipment per order number (asking again
                                                             answers the first waybill); `{order_number, waybill,
                                                             accepted_at, status}`
                             GET  /shipments/{order}          its status; 404 if unknown
                             POST /shipments/{order}/cancel   cancelled before pickup
Sandbox controls             POST /_sandbox/shipments/{order}/events   `{"type": "shipment.failed", "occurred_at"?,
                                                             "reason"?, "repeat"?: n, "delay_s"?: s}`: send one callback
                             POST /_sandbox/scenario         `{"auto": bool, "step_s": s, "repeat": n, "reorder": bool,
                                                             "fail_first": bool}`: what happens to new orders
                             GET  /_sandbox/shipments         what it remembers, and every callback it delivered

In `auto` mode (the default of `make run`) each new order is accepted, picked up and delivered, `step_s` apart, each
callback sent `repeat` times with the same `webhook-id` (a partner's retries), in reverse order if `reorder` (the
`occurred_at` times stay true), with a failed attempt before the delivery if `fail_first`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from standardwebhooks.webhooks import Webhook

log = logging.getLogger("postal_sandbox")
MAX_BODY, MAX_REPEAT, MAX_DELAY_S = 64 * 1024, 20, 120.0
EVENT_TYPES = ("shipment.accepted", "shipment.picked_up", "shipment.delivered", "shipment.failed", "shipment.returned")


@dataclass
class Scenario:
    auto: bool = True
    step_s: float = 1.0
    repeat: int = 1
    reorder: bool = False
    fail_first: bool = False


@dataclass
class Order:
    order_number: str
    waybill: str
    service: str
    accepted_at: str
    status: str = "accepted"
    status_at: str = ""  # the occurred_at of the report that set `status`: reordered reports do not move it back


@dataclass
class PostalSandbox:
    api_url: str
    partner: str
    secret: str
    token: str
    scenario: Scenario = field(default_factory=Scenario)
    orders: dict[str, Order] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> PostalSandbox:
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        threading.Thread(target=self._server.serve_forever, name="postal-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the partner's API ------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        number = body.get("order_number")
        if not isinstance(number, str) or not number or len(number) > 64:
            raise ValueError("order_number is required")
        with self._lock:
            order = self.orders.get(number)
            created = order is None
            if order is None:
                order = Order(number, f"VN{len(self.orders) + 1:09d}SB", str(body.get("service", "")),
                              datetime.now(UTC).isoformat())
                self.orders[number] = order
        if created and self.scenario.auto:
            threading.Thread(target=self._journey, args=(order,), daemon=True).start()
        return asdict(order)

    def cancel(self, number: str) -> dict[str, Any] | None:
        with self._lock:
            order = self.orders.get(number)
            if order is not None:
                order.status = "cancelled"
        return None if order is None else asdict(order)

    def status(self, number: str) -> dict[str, Any] | None:
        order = self.orders.get(number)
        return None if order is None else asdict(order)

    # --- callbacks ----------------------------------------------------------------------------------------------

    def _journey(self, order: Order) -> None:
        scenario = self.scenario
        start = datetime.now(UTC)
        steps = ["shipment.accepted", "shipment.picked_up", *(["shipment.failed"] if scenario.fail_first else []),
                 "shipment.delivered"]
        timed = [(kind, start + timedelta(seconds=i * scenario.step_s)) for i, kind in enumerate(steps)]
        time.sleep(scenario.step_s * len(timed))  # every occurred_at is past when the first callback is sent
        for kind, at in reversed(timed) if scenario.reorder else timed:
            if self.orders[order.order_number].status == "cancelled":
                return
            self.send(order.order_number, kind, at, repeat=scenario.repeat)

    def send(self, number: str, kind: str, occurred_at: datetime | None = None, *, reason: str | None = None,
             repeat: int = 1, webhook_id: str | None = None) -> list[int]:
        """Send one callback for order `number` `repeat` times (the same `webhook-id`): the statuses answered."""
        order = self.orders.get(number)
        if order is None or kind not in EVENT_TYPES:
            raise ValueError("unknown order or event type")
        at = (occurred_at or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
        data: dict[str, Any] = {"shipment_id": number, "waybill": order.waybill, "occurred_at": at}
        if reason:
            data["reason"] = reason
        body = json.dumps({"type": kind, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                           "data": data}, ensure_ascii=False)
        message_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        statuses = []
        for _ in range(min(max(repeat, 1), MAX_REPEAT)):
            statuses.append(self._deliver(message_id, body))
        with self._lock:
            self.delivered.append({"webhook_id": message_id, "type": kind, "order_number": number, "occurred_at": at,
                                   "statuses": statuses})
            if kind != "shipment.accepted" and at >= order.status_at:
                order.status, order.status_at = kind.removeprefix("shipment."), at
        return statuses

    def _deliver(self, message_id: str, body: str) -> int:
        now = datetime.now(UTC)
        headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(self.secret).sign(message_id, now, body),
                   "Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.api_url}/v1/partners/{self.partner}/postal-events",
                                         data=body.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, TimeoutError):
            log.warning("postal callback not delivered: the API did not answer")
            return 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"orders": [asdict(o) for o in self.orders.values()], "callbacks": list(self.delivered),
                    "scenario": asdict(self.scenario)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def _handler_for(sandbox: PostalSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/_sandbox/shipments":
                return self._json(200, sandbox.snapshot())
            if not self._authorised():
                return None
            if path.startswith("/shipments/"):
                found = sandbox.status(unquote(path.removeprefix("/shipments/")))
                return self._json(200, found) if found else self._json(404, {"error": "unknown order"})
            return self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(min(length, MAX_BODY)) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body is not a JSON object")
                if path == "/_sandbox/scenario":
                    fields = {k: body[k] for k in ("auto", "step_s", "repeat", "reorder", "fail_first") if k in body}
                    sandbox.scenario = Scenario(**{**asdict(sandbox.scenario), **fields})
                    return self._json(200, asdict(sandbox.scenario))
                if path.startswith("/_sandbox/shipments/") and path.endswith("/events"):
                    number = unquote(path.removeprefix("/_sandbox/shipments/").removesuffix("/events"))
                    occurred = body.get("occurred_at")
                    delay = min(float(body.get("delay_s", 0)), MAX_DELAY_S)
                    args = (number, str(body.get("type")), datetime.fromisoformat(occurred) if occurred else None)
                    kwargs = {"reason": body.get("reason"), "repeat": int(body.get("repeat", 1))}
                    if delay > 0:
                        threading.Timer(delay, sandbox.send, args, kwargs).start()
                        return self._json(202, {"scheduled_in_s": delay})
                    return self._json(200, {"statuses": sandbox.send(*args, **kwargs)})
                if not self._authorised():
                    return None
                if path == "/shipments":
                    return self._json(200, sandbox.create(body))
                if path.startswith("/shipments/") and path.endswith("/cancel"):
                    found = sandbox.cancel(unquote(path.removeprefix("/shipments/").removesuffix("/cancel")))
                    return self._json(200, found) if found else self._json(404, {"error": "unknown order"})
            except (ValueError, TypeError) as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(404, {"error": "not found"})

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {sandbox.token}":
                self._json(401, {"error": "bad token"})
                return False
            return True

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def start_postal_sandbox(api_url: str, partner: str, secret: str, token: str, *, port: int = 0,
                         auto: bool = True) -> PostalSandbox:
    """The simulator on 127.0.0.1:`port` (0: any free port), calling the API at `api_url` back as `partner`."""
    return PostalSandbox(api_url.rstrip("/"), partner, secret, token, Scenario(auto=auto)).start(port)
