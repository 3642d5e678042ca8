"""The stage's Cognito user pools, their role groups and app clients, rendered from `chalicelib.topology.USER_POOLS`.

Two pools, because Cognito sets MFA per pool and never per group: applicants (citizens and organisations) sign
themselves up from the mobile app, MFA optional; staff (officers and administrators) are created by an administrator
only, with MFA (an authenticator app, TOTP) required. A pool has one group per role it admits, named exactly as the
role (`chalicelib.domain.roles.Role`), and the API reads the role from the ID token's `cognito:groups`
(`chalicelib.auth.cognito_claims`). The staff pool has the custom attribute holding an officer's agency; its app
client may read it but not write it, so an officer cannot move themselves to another agency.

The app clients are public (no secret: a phone or a browser cannot keep one) and sign in with SRP, so no password
crosses the wire; the refresh token can be revoked. The hosted UI's authorisation-code flow with PKCE needs a domain
and callback URLs, which depend on the province's apps: add `AllowedOAuthFlows: [code]` and `CallbackURLs` then.
The API function learns each pool's id and client ids from its environment, merged into Chalice's `APIHandler`.
"""

from __future__ import annotations

from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib import topology

APP_CLIENTS = {topology.CITIZEN_POOL.logical: "mobile-app", topology.STAFF_POOL.logical: "officer-app"}
ID_TOKEN_MINUTES = 60  # well under the API's JWT_MAX_LIFETIME_SECONDS (24 h)
REFRESH_TOKEN_DAYS = {topology.CITIZEN_POOL.logical: 30, topology.STAFF_POOL.logical: 1}  # staff sign in each day
MIN_PASSWORD_LENGTH = 12
AGENCY_MAX_LENGTH = 40  # token-claims.v1.json's bound on `agency`


def pool_id(spec: topology.UserPoolSpec) -> str:
    return f"{to_cfn_resource_name(spec.logical)}UserPool"


def group_id(spec: topology.UserPoolSpec, role: str) -> str:
    return f"{pool_id(spec)}{to_cfn_resource_name(role)}Group"


def client_id(spec: topology.UserPoolSpec) -> str:
    return f"{pool_id(spec)}{to_cfn_resource_name(APP_CLIENTS[spec.logical].replace('-', '_'))}Client"


def _pool(spec: topology.UserPoolSpec, stage: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "UserPoolName": spec.physical(stage),
        "UsernameAttributes": ["email"],
        "UsernameConfiguration": {"CaseSensitive": False},
        "AutoVerifiedAttributes": ["email"],
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": not spec.self_sign_up},
        "Policies": {"PasswordPolicy": {
            "MinimumLength": MIN_PASSWORD_LENGTH, "RequireLowercase": True, "RequireUppercase": True,
            "RequireNumbers": True, "RequireSymbols": False, "TemporaryPasswordValidityDays": 3,
        }},
        "MfaConfiguration": "ON" if spec.mfa_required else "OPTIONAL",
        "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],  # an authenticator app: no SMS to pay for or intercept
        "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        "DeletionProtection": "ACTIVE",
        # Lite: TOTP MFA, SRP, token revocation and groups are all it needs; Essentials adds features this API does not
        # use (access-token customisation, passwordless sign-in) at about three times the price per monthly active user.
        "UserPoolTier": "LITE",
    }
    if spec.agency_attribute:
        properties["Schema"] = [{
            "Name": topology.AGENCY_ATTRIBUTE, "AttributeDataType": "String", "Mutable": True,
            "StringAttributeConstraints": {"MinLength": "1", "MaxLength": str(AGENCY_MAX_LENGTH)},
        }]
    return {"Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


def _group(spec: topology.UserPoolSpec, role: str, precedence: int) -> dict[str, Any]:
    return {
        "Type": "AWS::Cognito::UserPoolGroup",
        "Properties": {
            "GroupName": role,
            "UserPoolId": {"Ref": pool_id(spec)},
            "Description": f"Role '{role}' in the DVC API: a user must be in exactly one role group.",
            "Precedence": precedence,
        },
    }


def _client(spec: topology.UserPoolSpec, stage: str) -> dict[str, Any]:
    readable = ["email", "email_verified", "name"]
    writable = ["name"] + (["email"] if spec.self_sign_up else [])  # staff addresses are the administrator's to set
    if spec.agency_attribute:
        readable.append(f"custom:{topology.AGENCY_ATTRIBUTE}")
    return {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "ClientName": f"{spec.physical(stage)}-{APP_CLIENTS[spec.logical]}",
            "UserPoolId": {"Ref": pool_id(spec)},
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "SupportedIdentityProviders": ["COGNITO"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "IdTokenValidity": ID_TOKEN_MINUTES,
            "AccessTokenValidity": ID_TOKEN_MINUTES,
            "RefreshTokenValidity": REFRESH_TOKEN_DAYS[spec.logical],
            "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "days"},
            "ReadAttributes": readable,
            "WriteAttributes": writable,
        },
    }


def resources(stage: str) -> dict[str, Any]:
    """Every pool of the topology with its role groups and its app client."""
    found: dict[str, Any] = {}
    for spec in topology.USER_POOLS:
        found[pool_id(spec)] = _pool(spec, stage)
        for precedence, role in enumerate(spec.roles, start=1):
            found[group_id(spec, role)] = _group(spec, role, precedence)
        found[client_id(spec)] = _client(spec, stage)
    return found


def api_environment() -> dict[str, Any]:
    """What the API function needs to accept the pools' ID tokens (read by `chalicelib.settings.cognito_pools`)."""
    variables: dict[str, Any] = {}
    for spec in topology.USER_POOLS:
        variables[spec.pool_id_variable] = {"Ref": pool_id(spec)}
        variables[spec.client_ids_variable] = {"Ref": client_id(spec)}
    return variables


def outputs() -> dict[str, Any]:
    """The pools and clients the apps are configured with, and the deployer creates users in."""
    found: dict[str, Any] = {}
    for spec in topology.USER_POOLS:
        found[f"{pool_id(spec)}Id"] = {"Value": {"Ref": pool_id(spec)}}
        found[f"{client_id(spec)}Id"] = {"Value": {"Ref": client_id(spec)}}
    return found
