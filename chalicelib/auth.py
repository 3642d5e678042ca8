"""Bearer tokens: verifying the caller's JWT into an `Actor`, and minting development tokens locally."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from chalicelib.domain.errors import ForbiddenError, UnauthorizedError
from chalicelib.domain.history import Actor
from chalicelib.settings import Settings

ROLES = ("citizen", "organisation", "officer", "admin")


def actor_from_header(authorization: str | None, settings: Settings) -> Actor:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():  # the scheme name is case-insensitive (RFC 7235)
        raise UnauthorizedError(
            "Bạn cần đăng nhập: thiếu tiêu đề Authorization: Bearer <token>. (Missing bearer token.)"
        )
    token = token.strip()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["sub", "exp", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("Phiên đăng nhập đã hết hạn. (The token has expired.)", code="TOKEN_EXPIRED") from exc
    except jwt.PyJWTError as exc:
        raise UnauthorizedError("Mã xác thực không hợp lệ. (The token is invalid.)", code="TOKEN_INVALID") from exc
    role = claims["role"]
    if role not in ROLES:
        raise ForbiddenError(f"Vai trò '{role}' không được hỗ trợ. (Unknown role.)", code="ROLE_UNKNOWN")
    return Actor(
        user_id=str(claims["sub"]),
        role=role,
        display_name=str(claims.get("name", claims["sub"])),
        agency_code=claims.get("agency"),
    )


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise ForbiddenError(
            f"Vai trò '{actor.role}' không được phép thực hiện thao tác này. (Allowed roles: {', '.join(roles)}.)",
            code="ROLE_NOT_ALLOWED",
            details={"allowed_roles": list(roles)},
        )


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
