"""Bearer tokens: verifying the caller's JWT into an `Actor`, and minting development tokens locally."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import jwt

from chalicelib import topology
from chalicelib.domain.errors import ForbiddenError, UnauthorizedError, ValidationError
from chalicelib.domain.history import Actor
from chalicelib.domain.roles import ROLES
from chalicelib.input_policy import clip
from chalicelib.settings import CognitoPool, Settings
from chalicelib.validation import validate

MAX_TOKEN_BYTES = 8192  # API Gateway caps all headers at 10 KB; a real JWT of ours is under 2 KB
COGNITO_GROUPS = "cognito:groups"  # the user's groups, by precedence
COGNITO_AGENCY = f"custom:{topology.AGENCY_ATTRIBUTE}"  # the staff pool's custom attribute: an officer's agency


def _invalid(
    message: str = "Mã xác thực không hợp lệ. (The token is invalid.)", code: str = "TOKEN_INVALID"
) -> UnauthorizedError:
    return UnauthorizedError(message, code=code)


@runtime_checkable
class TokenKeys(Protocol):
    """Where a token's verification key comes from: one literal key, or an identity provider's published set."""

    def key_for(self, issuer: str, kid: str | None) -> Any: ...


@dataclass(frozen=True)
class StaticKey:
    """The one key of the stage (the local HS256 secret, or the PEM public key read from SSM)."""

    key: Any

    def key_for(self, issuer: str, kid: str | None) -> Any:
        return self.key


def actor_from_header(authorization: str | None, settings: Settings, key: TokenKeys | Any = None) -> Actor:
    """The caller named by a valid token. `key` is prepared once per container (`Container.token_keys`, or a parsed
    key); without it, the settings' literal key (local stage and tests). With Cognito pools in the settings, the token
    must be one of their ID tokens (`cognito_claims`)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():  # the scheme name is case-insensitive (RFC 7235)
        raise UnauthorizedError(
            "Bạn cần đăng nhập: thiếu tiêu đề Authorization: Bearer <token>. (Missing bearer token.)"
        )
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise _invalid()
    keys = key if isinstance(key, TokenKeys) else StaticKey(settings.jwt_key if key is None else key)
    try:
        claims = cognito_claims(token, settings.cognito_pools, keys) if settings.cognito_pools else jwt.decode(
            token,
            keys.key_for(settings.jwt_issuer, None),
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


def cognito_claims(token: str, pools: tuple[CognitoPool, ...], keys: TokenKeys) -> dict[str, Any]:
    """A Cognito ID token's claims, verified, in the shape `token-claims.v1.json` describes: `sub`, `role` (the one
    group of the user named after a role of the pool, or the pool's default role when in none), `agency` (from
    `custom:agency`, staff pool only), `name`, `iat`, `exp`. ID tokens only: Cognito's access tokens carry no custom
    attributes, so an officer's agency would be missing; `token_use` must say "id" and `aud` name an app client."""
    issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    pool = next((p for p in pools if p.issuer == issuer), None)
    if pool is None:
        raise jwt.InvalidIssuerError("not one of the stage's user pools")
    claims = jwt.decode(
        token,
        keys.key_for(pool.issuer, jwt.get_unverified_header(token).get("kid")),
        algorithms=["RS256"],  # what Cognito signs with; never taken from the token
        issuer=pool.issuer,
        options={"require": ["sub", "exp", "iat", "token_use"], "verify_aud": False},  # `aud` checked below
    )
    if claims["token_use"] != "id":
        raise _invalid("Cần mã định danh (ID token) của Cognito. (Only Cognito ID tokens are accepted.)",
                       "TOKEN_USE_INVALID")
    if claims.get("aud") not in pool.client_ids:  # an ID token's `aud` is the one app client it was issued to
        raise jwt.InvalidAudienceError("not one of the pool's app clients")
    groups = claims.get(COGNITO_GROUPS, [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise _invalid("Mã xác thực có thông tin không hợp lệ. (Token claims: cognito:groups is not a list of names.)",
                       "TOKEN_CLAIMS_INVALID")
    roles = [g for g in groups if g in pool.spec.roles]  # other groups (a federated provider's) say nothing of roles
    if len(roles) > 1:
        raise ForbiddenError("Tài khoản thuộc nhiều nhóm vai trò. (The user is in several role groups: "
                             f"{', '.join(roles)}; an administrator must leave one.)", code="ROLE_AMBIGUOUS")
    role = roles[0] if roles else pool.spec.default_role
    if role is None:
        raise ForbiddenError("Tài khoản chưa được gán vai trò. (The user is in no role group of "
                             f"{', '.join(pool.spec.roles)}.)", code="ROLE_MISSING")
    shaped = {"sub": claims["sub"], "role": role, "iat": claims["iat"], "exp": claims["exp"]}
    if "name" in claims:
        shaped["name"] = claims["name"]
    if pool.spec.agency_attribute and COGNITO_AGENCY in claims:
        shaped["agency"] = claims[COGNITO_AGENCY]
    return shaped


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
