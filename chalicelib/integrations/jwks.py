"""An identity provider's signing keys, fetched from its JWKS URL once per container and again only for a new key id."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from chalicelib.domain.errors import UnauthorizedError, UpstreamUnavailableError

FETCH_TIMEOUT_S = 5
MAX_JWKS_BYTES = 64 * 1024  # Cognito's holds two RSA keys, under 1 KB
# A token naming a key id we do not hold fetches the set again (the provider rotated its keys), but at most this
# often: a stream of tokens with made-up key ids must not turn into a stream of requests to the provider.
REFETCH_AFTER_S = 60.0


def fetch_url(url: str) -> bytes:
    """GET the key set; an unreachable or failing provider is a 503 (retry), never a 500."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            return bytes(response.read(MAX_JWKS_BYTES + 1))
    except (urllib.error.URLError, OSError) as exc:
        raise UpstreamUnavailableError(f"The identity provider's keys could not be fetched: {exc}") from exc


class JwksKeys:
    """The verification keys of one issuer by key id (`kid`), as PyJWT wants them (parsed once)."""

    def __init__(self, url: str, fetch: Callable[[str], bytes] = fetch_url,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def key_for(self, kid: str | None) -> Any:
        with self._lock:
            if self._keys is None or (kid not in self._keys and self._clock() - self._fetched_at >= REFETCH_AFTER_S):
                self._keys = self._load()
            key = self._keys.get(kid) if kid is not None else None
        if key is None:
            raise UnauthorizedError("Mã xác thực không hợp lệ. (The token is invalid: unknown signing key.)",
                                    code="TOKEN_INVALID")
        return key

    def _load(self) -> dict[str, Any]:
        raw = self._fetch(self.url)
        self.fetches += 1
        self._fetched_at = self._clock()
        if len(raw) > MAX_JWKS_BYTES:
            raise UpstreamUnavailableError("The identity provider's key set is larger than any real one.")
        try:
            keys = jwt.PyJWKSet.from_dict(json.loads(raw)).keys
        except (ValueError, jwt.PyJWTError) as exc:
            raise UpstreamUnavailableError(f"The identity provider's key set is unreadable: {exc}") from exc
        # Signing keys only: a key published for encryption must not verify a signature.
        return {k.key_id: k.key for k in keys if k.key_id and k.public_key_use in (None, "sig")}


class IssuerKeys:
    """The key sets of several issuers (the stage's user pools), each fetched on its first token."""

    def __init__(self, by_issuer: dict[str, JwksKeys]) -> None:
        self.by_issuer = by_issuer

    def key_for(self, issuer: str, kid: str | None) -> Any:
        return self.by_issuer[issuer].key_for(kid)  # the caller matched the issuer to a pool first
