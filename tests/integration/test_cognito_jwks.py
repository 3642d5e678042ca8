"""The deployed stage's verifier against a user pool's JWKS served over real HTTP on 127.0.0.1 (Cognito publishes it at
{issuer}/.well-known/jwks.json): the container fetches it once, and an unreachable provider answers 503, not 500."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.auth import actor_from_header
from chalicelib.bootstrap import Container
from chalicelib.domain.errors import UpstreamUnavailableError
from chalicelib.handlers.http import status_for
from chalicelib.settings import JWKS_PATH
from tests.unit.test_cognito_tokens import KEY, KID, SETTINGS, STAFF, id_token, jwks


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A file-backed JWKS endpoint on loopback: its URL and the paths asked for."""
    (tmp_path / "jwks.json").write_bytes(jwks((KID, KEY)))
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            found = self.path == JWKS_PATH
            data = (tmp_path / "jwks.json").read_bytes() if found else b"{}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="jwks-provider", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def staff_only(jwks_url: str) -> Any:
    """The test settings with the staff pool's keys fetched from `jwks_url` (its issuer stays Cognito's)."""
    return dataclasses.replace(SETTINGS, stage="local", cognito_pools=(dataclasses.replace(STAFF, jwks_url=jwks_url),))


def test_the_container_fetches_the_pool_keys_once_over_http(provider: tuple[str, list[str]]) -> None:
    base, asked = provider
    settings = staff_only(base + JWKS_PATH)
    keys = Container(settings).token_keys
    for agency in ("H46.C19900", "H46.C19901", "H46.C19902"):
        token = id_token(STAFF, **{"cognito:groups": ["officer"], "custom:agency": agency})
        assert actor_from_header(f"Bearer {token}", settings, keys).agency_code == agency
    assert asked == [JWKS_PATH]


def test_an_unreachable_key_set_answers_503(provider: tuple[str, list[str]]) -> None:
    base, _ = provider
    for url in (base + "/nowhere", "http://127.0.0.1:9/jwks.json"):  # a 404, a closed port
        settings = staff_only(url)
        with pytest.raises(UpstreamUnavailableError) as caught:
            actor_from_header(f"Bearer {id_token(STAFF, **{'cognito:groups': ['officer']})}", settings,
                              Container(settings).token_keys)
        assert status_for(caught.value) == 503

