"""Bearer tokens: verifying the caller's JWT into an `Actor`, and minting development tokens locally."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from chalicelib.domain.errors import ForbiddenError, UnauthorizedError, ValidationError
from chalicelib.domain.history import Actor
from chalicelib.domain.roles import ROLES
from chalicelib.input_policy import clip
from chalicelib.settings import Settings
from chalicelib.validation import validate

MAX_TOKEN_BYTES = 8192  # API Gateway caps all headers at 10 KB; a real JWT of ours is under 2 KB


def _invalid(
    message: str = "Mã xác thực không hợp lệ. (The token is invalid.)", code: str = "TOKEN_INVALID"
) -> UnauthorizedError:
    return UnauthorizedError(message, code=code)


def actor_from_header(authorization: str | None, settings: Settings, key: Any = None) -> Actor:
    """The caller named by a valid token. `key` is the verification key prepared once per container
    (`Container.jwt_key`); without it, the settings' literal key (local stage and tests)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():  # the scheme name is case-insensitive (RFC 7235)
        raise UnauthorizedError(
            "Bạn cần đăng nhập: thiếu tiêu đề Authorization: Bearer <token>. (Missing bearer token.)"
        )
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise _invalid()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key if key is None else key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "iat", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("Phiên đăng nhập đã hết hạn. (The token has expired.)", code="TOKEN_EXPIRED") from exc
    except jwt.PyJWTError as exc:
        raise _invalid() from exc
    role = claims["role"]
    if role not in ROLES:
        raise ForbiddenError(f"Vai trò '{clip(str(role), 32)}' không được hỗ trợ. (Unknown role.)", code="ROLE_UNKNOWN")
    try:
        validate("token-claims.v1.json", claims)
    except ValidationError as exc:
        raise _invalid(f"Mã xác thực có thông tin không hợp lệ. (Token claims: {exc.message})", "TOKEN_CLAIMS_INVALID") from exc
    if claims["exp"] - claims["iat"] > settings.jwt_max_lifetime_s:
        raise _invalid(
            f"Mã xác thực có thời hạn quá dài (tối đa {settings.jwt_max_lifetime_s} giây). (Token lifetime too long.)",
            "TOKEN_LIFETIME_TOO_LONG",
        )
    return Actor(
        user_id=claims["sub"],
        role=role,
        display_name=claims.get("name", claims["sub"]),
        agency_code=claims.get("agency"),
    )


def load_jwt_key(settings: Settings, ssm: Any) -> Any:
    """The verification key as PyJWT wants it, parsed once: a PEM public key becomes a key object here rather
    than on every request. Reads the SSM parameter when the settings carry no literal key."""
    raw = settings.jwt_key
    if not raw:
        if not settings.jwt_key_parameter:
            raise RuntimeError("no JWT key: set JWT_KEY or JWT_KEY_PARAMETER")
        raw = ssm.get_parameter(Name=settings.jwt_key_parameter, WithDecryption=True)["Parameter"]["Value"]
    algorithm = jwt.get_algorithm_by_name(settings.jwt_algorithm)
    return algorithm.prepare_key(raw)


def mint_dev_token(
    settings: Settings, *, role: str, sub: str, name: str, agency: str | None, ttl: timedelta, now: datetime
) -> str:
    """A token signed with the local stage's development key. Refused in any other stage."""
    if not settings.is_local or settings.jwt_algorithm != "HS256":
        raise ForbiddenError("Development tokens exist only in the local stage.", code="DEV_ONLY")
    claims: dict[str, object] = {
        "sub": sub,
        "role": role,
        "name": name,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if agency:
        claims["agency"] = agency
    return jwt.encode(claims, settings.jwt_key, algorithm="HS256")
