"""Local stand-ins for the HTTP messaging providers: a VNPT-style SMS brandname gateway and Zalo ZNS. Each remembers
what it was asked to send and, like the real ones, reports delivery later: a Standard Webhooks-signed receipt to
`POST {api}/v1/partners/{provider}/delivery-receipts`. `make run` and the test stack start one on 127.0.0.1.

VNPT  POST /vnpt/sms/send              {username, password, brandname, phone, message, requestId} → {"code": "00", "messageId"}
Zalo  POST /zalo/message/template      header access_token; {phone, template_id, template_data, tracking_id}
                                       → {"error": 0, "data": {"msg_id", "sent_time"}}
      POST /_sandbox/mode              {"provider": "vnpt"|"zalo", "mode": "ok"|"unavailable"|"busy"|"reject",
                                        "receipts": true|false}: how the provider behaves from now on
      GET  /_sandbox/messages          every message taken, oldest first, and the receipts delivered
Modes: `unavailable` answers HTTP 503, `busy` the provider's own retry-later code (VNPT 99, Zalo -32), `reject` a
refusal (VNPT 12 "invalid number", Zalo -118 "no Zalo account"): what failover and retries are tested against.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

log = logging.getLogger("notify_sandbox")
MAX_BODY = 64 * 1024
MODES = ("ok", "unavailable", "busy", "reject")


@dataclass
class ProviderState:
    mode: str = "ok"
    receipts: bool = True


@dataclass
class NotifySandbox:
    api_url: str
    vnpt: dict[str, str]  # url, username, password, brandname
    zalo: dict[str, str]  # url, access_token
    webhook_secrets: dict[str, str]
    states: dict[str, ProviderState] = field(default_factory=lambda: {"vnpt": ProviderState(), "zalo": ProviderState()})
    messages: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _outgoing: queue.Queue[tuple[str, dict[str, Any]] | None] = field(default_factory=queue.Queue)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> NotifySandbox:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="notify-sandbox", daemon=True).start()
        threading.Thread(target=self._deliver_receipts, name="notify-sandbox-receipts", daemon=True).start()
        return self

    def stop(self) -> None:
        self._outgoing.put(None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def set_mode(self, provider: str, mode: str, receipts: bool = True) -> None:
        if provider not in self.states or mode not in MODES:
            raise ValueError(f"provider in {sorted(self.states)}, mode in {MODES}")
        with self._lock:
            self.states[provider] = ProviderState(mode, receipts)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"messages": list(self.messages), "receipts": list(self.receipts)}

    # --- the providers ------------------------------------------------------------------------------------------

    def vnpt_send(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (body.get("username"), body.get("password")) != (self.vnpt["username"], self.vnpt["password"]):
            return 200, {"code": "11", "message": "authentication failed"}
        state = self.states["vnpt"]
        if state.mode == "unavailable":
            return 503, {"code": "99", "message": "service unavailable"}
        if state.mode == "busy":
            return 200, {"code": "99", "message": "system busy, retry"}
        if state.mode == "reject":
            return 200, {"code": "12", "message": "invalid phone number"}
        message_id = uuid.uuid4().hex
        self._took("vnpt", {"to": body.get("phone"), "text": body.get("message"), "brandname": body.get("brandname"),
                            "reference": body.get("requestId"), "message_id": message_id})
        return 200, {"code": "00", "message": "success", "messageId": message_id}

    def zalo_send(self, token: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if token != self.zalo["access_token"]:
            return 200, {"error": -124, "message": "access token invalid"}
        state = self.states["zalo"]
        if state.mode == "unavailable":
            return 503, {"error": -1, "message": "service unavailable"}
        if state.mode == "busy":
            return 200, {"error": -32, "message": "rate limit"}
        if state.mode == "reject":
            return 200, {"error": -118, "message": "Zalo account not existed"}
        message_id = uuid.uuid4().hex
        self._took("zalo", {"to": body.get("phone"), "template_id": body.get("template_id"),
                            "template_data": body.get("template_data"), "reference": body.get("tracking_id"),
                            "message_id": message_id})
        return 200, {"error": 0, "message": "Success",
                     "data": {"msg_id": message_id, "sent_time": str(int(datetime.now(UTC).timestamp() * 1000))}}

    def _took(self, provider: str, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append({"provider": provider, **message})
            receipts = self.states[provider].receipts
        if receipts and isinstance(message.get("reference"), str):
            self._outgoing.put((provider, {"reference": message["reference"], "status": "delivered",
                                           "provider_message_id": message["message_id"],
                                           "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}))

    def _deliver_receipts(self) -> None:
        """One sender, in order: receipts arrive after the answer to the send, as a handset's report would."""
        while (item := self._outgoing.get()) is not None:
            provider, receipt = item
            data = json.dumps(receipt)
            webhook_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
            signature = Webhook(self.webhook_secrets[provider]).sign(webhook_id, now, data)
            request = urllib.request.Request(
                f"{self.api_url}/v1/partners/{provider}/delivery-receipts", data=data.encode(), method="POST",
                headers={"Content-Type": "application/json", "webhook-id": webhook_id,
                         "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                log.warning("receipt not delivered: %r", exc)
                status = 0
            with self._lock:
                self.receipts.append({"provider": provider, "status": status, **receipt})


def _handler_for(sandbox: NotifySandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

        def do_GET(self) -> None:
            if self.path == "/_sandbox/messages":
                self._json(200, sandbox.snapshot())
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(min(length, MAX_BODY)) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._json(400, {"error": "body is not a JSON object"})
                return
            if self.path == "/vnpt/sms/send":
                self._json(*sandbox.vnpt_send(body))
            elif self.path == "/zalo/message/template":
                self._json(*sandbox.zalo_send(self.headers.get("access_token"), body))
            elif self.path == "/_sandbox/mode":
                try:
                    sandbox.set_mode(str(body.get("provider")), str(body.get("mode")), bool(body.get("receipts", True)))
                except ValueError as exc:
                    self._json(400, {"error": str(exc)})
                    return
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": "not found"})

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def sandbox_environment(port: int) -> dict[str, str]:
    """The variables that point the local stage's HTTP providers at a sandbox on `port`."""
    base = f"http://127.0.0.1:{port}"
    return {"VNPT_SMS_URL": f"{base}/vnpt/sms/send", "ZALO_ZNS_URL": f"{base}/zalo/message/template"}


def start_notify_sandbox(api_url: str, environ: dict[str, str] | Any, port: int) -> NotifySandbox:
    from chalicelib.integrations.messaging_config import local_document

    document = local_document(environ)
    return NotifySandbox(api_url, document["vnpt"], document["zalo"], document["webhook_secrets"]).start(port)
