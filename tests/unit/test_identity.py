"""The user pools in the deployed template agree with what the API checks: its roles, its claims, its settings."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import topology
from chalicelib.auth import COGNITO_AGENCY
from chalicelib.domain.roles import ROLES
from chalicelib.settings import Settings
from infra import cloudformation as cfn
from infra import identity


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return dict(cfn.render("prod")["Resources"])


def _of(resources: dict[str, Any], kind: str, spec: topology.UserPoolSpec) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources.values()
            if r.get("Type") == kind and r["Properties"].get("UserPoolId") == {"Ref": identity.pool_id(spec)}]


def test_every_role_the_code_checks_is_a_group_of_exactly_one_pool(resources: dict[str, Any]) -> None:
    groups = {spec.logical: sorted(g["GroupName"] for g in _of(resources, "AWS::Cognito::UserPoolGroup", spec))
              for spec in topology.USER_POOLS}
    assert groups == {spec.logical: sorted(spec.roles) for spec in topology.USER_POOLS}
    assert sorted(role for names in groups.values() for role in names) == sorted(ROLES)


def test_staff_need_mfa_and_an_administrator_while_applicants_sign_themselves_up(resources: dict[str, Any]) -> None:
    pools = {spec.logical: resources[identity.pool_id(spec)] for spec in topology.USER_POOLS}
    staff, citizens = pools[topology.STAFF_POOL.logical], pools[topology.CITIZEN_POOL.logical]
    assert staff["Properties"]["MfaConfiguration"] == "ON"
    assert staff["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert citizens["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert citizens["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False}
    for pool in pools.values():
        assert pool["DeletionPolicy"] == "Retain" and pool["Properties"]["DeletionProtection"] == "ACTIVE"
        assert pool["Properties"]["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12


def test_the_agency_is_readable_by_the_officers_app_and_writable_by_no_app(resources: dict[str, Any]) -> None:
    (schema,) = resources[identity.pool_id(topology.STAFF_POOL)]["Properties"]["Schema"]
    assert f"custom:{schema['Name']}" == COGNITO_AGENCY  # the claim the API reads
    for spec in topology.USER_POOLS:
        (client,) = _of(resources, "AWS::Cognito::UserPoolClient", spec)
        assert client["GenerateSecret"] is False and "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
        assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]  # the password never crosses the wire
        assert COGNITO_AGENCY not in client["WriteAttributes"]
        assert (COGNITO_AGENCY in client["ReadAttributes"]) == spec.agency_attribute
        assert client["IdTokenValidity"] * 60 <= Settings.from_env({}).jwt_max_lifetime_s


def test_the_api_function_is_told_each_pool_and_client_and_reads_them_back(resources: dict[str, Any]) -> None:
    variables = cfn.render("prod")["Resources"][cfn.API_HANDLER_ID]["Properties"]["Environment"]["Variables"]
    physical = {identity.pool_id(s): f"ap-southeast-1_{s.logical[:8]:x<8}" for s in topology.USER_POOLS}
    physical |= {identity.client_id(s): f"client-of-{s.logical}" for s in topology.USER_POOLS}
    assert all(value["Ref"] in resources for value in variables.values())
    settings = Settings.from_env({"DVC_STAGE": "prod", **{name: physical[v["Ref"]] for name, v in variables.items()}})
    assert [(p.spec, p.client_ids) for p in settings.cognito_pools] == [
        (s, (physical[identity.client_id(s)],)) for s in topology.USER_POOLS]
    assert all(p.issuer.startswith("https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_")
               for p in settings.cognito_pools)
