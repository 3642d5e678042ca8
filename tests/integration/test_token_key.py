"""Deployed stages verify RS256 tokens with the identity provider's key, read from SSM once per container."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import topology
from chalicelib.auth import actor_from_header
from chalicelib.bootstrap import Container
from chalicelib.domain.errors import UnauthorizedError
from chalicelib.settings import Settings
from infra.cloudformation import API_FUNCTION
from infra.local.stack import LocalStack
from tests.policy.recorder import invoked_as

STAGE = "local"  # the parameter a local deployment would read; the policy check maps it to each stage's


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def deployed_settings(stack: LocalStack, private_key: rsa.RSAPrivateKey) -> Iterator[Settings]:
    """Settings as a deployed stage reads them: no literal key, so the key comes from a parameter. The stage stays
    `local` so a `Container` built here binds the models to the tables every other test uses."""
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    name = topology.JWT_KEY_PARAMETER.physical(STAGE)
    ssm = stack.client("ssm")
    ssm.put_parameter(Name=name, Value=pem.decode(), Type="SecureString", Overwrite=True)
    env = {"DVC_STAGE": "prod", "JWT_ALGORITHM": "RS256", "JWT_ISSUER": "https://id.example.gov.vn",
           "JWT_AUDIENCE": "dvc-api", "AWS_REGION": "ap-southeast-1"}
    assert Settings.from_env(env).jwt_key_parameter == topology.JWT_KEY_PARAMETER.physical("prod")  # named by itself
    settings = dataclasses.replace(Settings.from_env({**env, "DVC_STAGE": "local"}), jwt_key="", jwt_key_parameter=name)
    yield settings
    ssm.delete_parameter(Name=name)


def rs256(private_key: rsa.RSAPrivateKey, settings: Settings, **claims: Any) -> str:
    now = datetime.now(UTC)
    body = {"sub": "c0ffee00-1111-2222-3333-444455556666", "role": "citizen", "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience, "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())}
    return jwt.encode(body | claims, private_key, algorithm="RS256")


def test_a_deployed_stage_reads_its_key_from_ssm_once(deployed_settings: Settings, private_key: rsa.RSAPrivateKey) -> None:
    container = Container(deployed_settings)
    calls: list[str] = []
    container.ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: calls.append("GetParameter"))
    with invoked_as(API_FUNCTION):  # the API function reads the key: its policy must allow it (tests/policy/)
        for _ in range(3):
            actor = actor_from_header(f"Bearer {rs256(private_key, deployed_settings)}", deployed_settings,
                                      container.jwt_key)
            assert actor.role == "citizen"
    assert calls == ["GetParameter"]


def test_a_token_signed_by_another_key_is_refused(deployed_settings: Settings) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = Container(deployed_settings).jwt_key
    with pytest.raises(UnauthorizedError) as caught:
        actor_from_header(f"Bearer {rs256(stranger, deployed_settings)}", deployed_settings, key)
    assert caught.value.code == "TOKEN_INVALID"


def test_an_hs256_token_cannot_pass_as_rs256(deployed_settings: Settings) -> None:
    """The algorithm is fixed by the stage, never taken from the token (the classic RS256→HS256 confusion)."""
    now = datetime.now(UTC)
    claims = {"sub": "x", "role": "admin", "iss": deployed_settings.jwt_issuer, "aud": deployed_settings.jwt_audience,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())}
    forged = jwt.encode(claims, "a-secret-anyone-could-pick-0123456789", algorithm="HS256")
    with pytest.raises(UnauthorizedError) as caught:
        actor_from_header(f"Bearer {forged}", deployed_settings, Container(deployed_settings).jwt_key)
    assert caught.value.code == "TOKEN_INVALID"


def test_a_missing_parameter_fails_loudly(stack: LocalStack, deployed_settings: Settings) -> None:
    missing = dataclasses.replace(deployed_settings, jwt_key_parameter="/dvc/nowhere/jwt-public-key")
    with pytest.raises(ClientError):
        Container(missing).jwt_key  # noqa: B018  (the property reads the parameter)
