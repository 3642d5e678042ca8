"""Test helpers: an HTTP client for the locally served API, tokens, request bodies, waiting for figures."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from infra.seed import procedures

T = TypeVar("T")


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, method=method, data=data)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, json.loads(response.read() or b"null"), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, json.loads(error.read() or b"null"), dict(error.headers))

    def raw(self, method: str, path: str, token: str, accept: str) -> bytes:
        """An answer's bytes (an export), asked for with `Accept`."""
        request = urllib.request.Request(self.base_url + path, method=method,
                                         headers={"Authorization": f"Bearer {token}", "Accept": accept})
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())

    def token(self, role: str, sub: str | None = None, agency: str | None = None) -> str:
        body: dict[str, Any] = {"role": role}
        if sub:
            body["sub"] = sub
        if agency:
            body["agency"] = agency
        reply = self.call("POST", "/v1/dev/tokens", body)
        assert reply.status == 200, reply.body
        return str(reply.body["token"])

    def kpi(self, agency: str, period: str, token: str) -> dict[str, Any]:
        reply = self.call("GET", f"/v1/reports/kpi?period={period}&agency={agency}", token=token)
        assert reply.status == 200, reply.body
        return dict(reply.body)


def submission(procedure_code: str = "1.001193", agency_code: str = "H46.C19900", channel: str = "online",
               **overrides: Any) -> dict[str, Any]:
    """A valid body for the procedure, with every required document."""
    procedure = next(p for p in procedures() if p.code == procedure_code)
    body: dict[str, Any] = {
        "procedure_code": procedure_code,
        "agency_code": agency_code,
        "channel": channel,
        "applicant": {"kind": "citizen", "name": "Nguyễn Thị Hoà", "national_id": "046190000123", "phone": "0912345678",
                      "email": "hoa@example.vn"},
        "documents": [{"type": d.type, "name": d.name} for d in procedure.required_documents],
        "result_delivery": "online",
    }
    body.update(overrides)
    return body


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 10.0, every_s: float = 0.2) -> T:
    """Poll until `done(probe())`; returns the last value either way so the assertion shows it."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(every_s)
        value = probe()
    return value


def commune(n: int) -> str:
    """The n-th commune of the seeded province: tests use distinct ones so their figures do not mix."""
    from infra.seed import agencies

    codes = [a.code for a in agencies(46) if a.kind == "commune"]
    return codes[n]
