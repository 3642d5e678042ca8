"""Cognito ID tokens into actors: RS256 tokens shaped like Cognito's (claims as its documentation lists them for an ID
token), signed by a key pair made here and published as a JWKS the verifier reads through an injected fetch.

Cognito's ID token: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
(`iss` https://cognito-idp.{region}.amazonaws.com/{pool}, `aud` the app client, `token_use` "id", `cognito:groups`,
custom attributes as `custom:{name}`); its access token has `client_id` and `token_use` "access" and no `aud`.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import topology
from chalicelib.auth import actor_from_header
from chalicelib.domain.errors import DomainError, ForbiddenError, UnauthorizedError, UpstreamUnavailableError
from chalicelib.handlers.http import error_response, status_for
from chalicelib.integrations.jwks import REFETCH_AFTER_S, IssuerKeys, JwksKeys
from chalicelib.settings import CognitoPool, Settings

REGION = "ap-southeast-1"
CITIZENS_ID, STAFF_ID = f"{REGION}_Citizens1", f"{REGION}_Staff0001"
MOBILE, OFFICERS = "mobileclient0000000000000a", "officerclient000000000000b"
ENV = {
    "DVC_STAGE": "prod",
    topology.CITIZEN_POOL.pool_id_variable: CITIZENS_ID,
    topology.CITIZEN_POOL.client_ids_variable: MOBILE,
    topology.STAFF_POOL.pool_id_variable: STAFF_ID,
    topology.STAFF_POOL.client_ids_variable: OFFICERS,
}
SETTINGS = Settings.from_env(ENV)
CITIZENS, STAFF = SETTINGS.cognito_pools
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "key-1"


def jwks(*pairs: tuple[str, rsa.RSAPrivateKey]) -> bytes:
    keys = [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}
            for kid, k in pairs]
    return json.dumps({"keys": keys}).encode()


class Provider:
    """The pools' JWKS endpoints, as the verifier's fetch sees them, with a hand-moved clock."""

    def __init__(self) -> None:
        self.published = {p.jwks_url: jwks((KID, KEY)) for p in SETTINGS.cognito_pools}
        self.now = 1000.0
        self.fetched: list[str] = []

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.published[url]

    def keys(self) -> IssuerKeys:
        return IssuerKeys({p.issuer: JwksKeys(p.jwks_url, self.fetch, lambda: self.now) for p in SETTINGS.cognito_pools})


def id_token(pool: CognitoPool, *, key: rsa.RSAPrivateKey = KEY, kid: str = KID, headers: dict[str, Any] | None = None,
             **claims: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    body = {"sub": str(uuid.uuid4()), "aud": pool.client_ids[0], "email_verified": True, "token_use": "id",
            "auth_time": now, "iss": pool.issuer, "cognito:username": "lan", "exp": now + 3600, "iat": now,
            "jti": str(uuid.uuid4()), "origin_jti": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "name": "Trần Thị Lan"}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256",
                      headers={"kid": kid, **(headers or {})})


def raw(header: Any, payload: Any) -> str:
    """A token as a hostile client may assemble it, past what PyJWT would encode."""
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part(header)}.{part(payload)}.{part('signature')}"


def actor(token: str, keys: IssuerKeys | None = None) -> Any:
    return actor_from_header(f"Bearer {token}", SETTINGS, keys or Provider().keys())


def refused(token: str, keys: IssuerKeys | None = None) -> DomainError:
    with pytest.raises(DomainError) as caught:
        actor(token, keys)
    # whatever the claims held, the answer is a 401/403 in the error shape, serialisable as JSON
    assert status_for(caught.value) in (401, 403)
    json.dumps(error_response(status_for(caught.value), caught.value.code, caught.value.message).body)
    return caught.value


def test_the_settings_name_each_pool_by_its_region_issuer_and_keys() -> None:
    assert CITIZENS.issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{CITIZENS_ID}"
    assert STAFF.jwks_url == f"https://cognito-idp.{REGION}.amazonaws.com/{STAFF_ID}/.well-known/jwks.json"
    assert (CITIZENS.client_ids, STAFF.client_ids) == ((MOBILE,), (OFFICERS,))
    assert SETTINGS.jwt_key_parameter == ""  # no SSM key is read where the pools publish theirs
    assert Settings.from_env({"DVC_STAGE": "prod"}).cognito_pools == ()  # without the template's variables: as before


@pytest.mark.parametrize(("pool", "groups", "role"), [
    (CITIZENS, None, "citizen"),  # self-registered: no group, the pool's default role
    (CITIZENS, [], "citizen"),
    (CITIZENS, ["organisation"], "organisation"),
    (CITIZENS, ["officer"], "citizen"),  # a staff role means nothing in the citizens' pool: never an escalation
    (STAFF, ["officer"], "officer"),
    (STAFF, ["admin"], "admin"),
    (STAFF, ["officer", f"{STAFF_ID}_Google"], "officer"),  # a federated provider's group says nothing of roles
])
def test_the_role_is_the_one_role_group_of_the_pool(pool: CognitoPool, groups: list[str] | None, role: str) -> None:
    found = actor(id_token(pool, **{"cognito:groups": groups, "custom:agency": "H46.C19900"}))
    assert found.role == role and found.display_name == "Trần Thị Lan"
    assert found.agency_code == ("H46.C19900" if pool is STAFF else None)  # only an administrator sets staff's


@pytest.mark.parametrize(("groups", "code"), [
    (None, "ROLE_MISSING"), ([], "ROLE_MISSING"), (["citizen"], "ROLE_MISSING"), (["\ud800"], "ROLE_MISSING"),
    (["x" * 5000], "ROLE_MISSING"), (["officer", "admin"], "ROLE_AMBIGUOUS"),
])
def test_staff_in_no_role_group_or_several_are_forbidden(groups: list[str] | None, code: str) -> None:
    error = refused(id_token(STAFF, **{"cognito:groups": groups}))
    assert isinstance(error, ForbiddenError) and error.code == code


def test_an_access_token_is_refused_with_its_own_code() -> None:
    access = id_token(CITIZENS, token_use="access", aud=None, client_id=MOBILE, scope="aws.cognito.signin.user.admin")
    assert refused(access).code == "TOKEN_USE_INVALID"


@pytest.mark.parametrize("claims", [
    {"aud": OFFICERS},  # the staff app's client, presented as a citizens' token
    {"aud": None},
    {"aud": [MOBILE]},
    {"iss": STAFF.issuer.replace(STAFF_ID, f"{REGION}_Stranger1")},
    {"iss": None},
    {"token_use": None},
    {"exp": int(datetime.now(UTC).timestamp()) - 10},
])
def test_a_token_for_another_client_or_issuer_or_expired_is_unauthorised(claims: dict[str, Any]) -> None:
    assert isinstance(refused(id_token(CITIZENS, **claims)), UnauthorizedError)


@pytest.mark.parametrize("claims", [
    {"cognito:groups": "officer"},  # a string, not a list of names
    {"cognito:groups": [1]},
    {"custom:agency": "H" * 5000},
    {"custom:agency": "h46 c19900"},
    {"name": "Lan\ud800"},
    {"name": "x" * 201},
    {"sub": "\ud800"},
    {"sub": ""},
    {"iat": "yesterday"},
    {"exp": int(datetime.now(UTC).timestamp()) + 2 * 24 * 3600},  # lives longer than the stage allows
])
def test_hostile_claims_answer_401_never_500(claims: dict[str, Any]) -> None:
    assert isinstance(refused(id_token(STAFF, **{"cognito:groups": ["officer"], **claims})), UnauthorizedError)


def test_a_token_over_the_size_limit_is_refused_before_any_parsing() -> None:
    provider = Provider()
    error = refused(id_token(STAFF, **{"cognito:groups": ["officer"] + ["g" * 100] * 100}), provider.keys())
    assert error.code == "TOKEN_INVALID" and provider.fetched == []


@pytest.mark.parametrize("forge", [
    lambda: id_token(CITIZENS, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),  # same kid
    lambda: jwt.encode({"sub": "x", "iss": CITIZENS.issuer, "aud": MOBILE, "token_use": "id", "iat": 1, "exp": 2**40},
                       "a-secret-anyone-could-pick-0123456789", algorithm="HS256", headers={"kid": KID}),
    lambda: jwt.encode({"sub": "x", "iss": CITIZENS.issuer, "aud": MOBILE, "token_use": "id", "iat": 1, "exp": 2**40},
                       None, algorithm="none", headers={"kid": KID}),
    lambda: "not.a.jwt",
    lambda: "e30.e30.e30",
    lambda: raw({"alg": "RS256", "kid": ["key-1"]}, {"iss": CITIZENS.issuer}),  # a key id that is no string
    lambda: raw({"alg": "RS256", "kid": KID}, ["not", "an", "object"]),
])
def test_forged_tokens_are_unauthorised(forge: Any) -> None:
    assert refused(forge()).code == "TOKEN_INVALID"


def test_keys_are_fetched_once_per_pool_and_again_only_for_a_new_key_at_most_once_a_minute() -> None:
    provider = Provider()
    keys = provider.keys()
    for _ in range(3):
        actor(id_token(CITIZENS), keys)
    assert provider.fetched == [CITIZENS.jwks_url]
    stranger = id_token(CITIZENS, kid="made-up")
    for _ in range(5):
        assert refused(stranger, keys).code == "TOKEN_INVALID"
    assert provider.fetched == [CITIZENS.jwks_url]  # within the minute: no request per made-up key id
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.published[CITIZENS.jwks_url] = jwks((KID, KEY), ("key-2", rotated))
    provider.now += REFETCH_AFTER_S
    assert actor(id_token(CITIZENS, key=rotated, kid="key-2"), keys).role == "citizen"  # Cognito rotated its keys
    assert provider.fetched == [CITIZENS.jwks_url] * 2


def test_an_unreadable_key_set_is_a_503_and_an_encryption_key_verifies_nothing() -> None:
    provider = Provider()
    provider.published[CITIZENS.jwks_url] = b"<html>gateway timeout</html>"
    error = refused_upstream(id_token(CITIZENS), provider.keys())
    assert status_for(error) == 503
    enc = json.loads(jwks((KID, KEY)))
    enc["keys"][0]["use"] = "enc"
    provider.published[CITIZENS.jwks_url] = json.dumps(enc).encode()
    assert refused(id_token(CITIZENS), provider.keys()).code == "TOKEN_INVALID"


def refused_upstream(token: str, keys: IssuerKeys) -> UpstreamUnavailableError:
    with pytest.raises(UpstreamUnavailableError) as caught:
        actor(token, keys)
    return caught.value
