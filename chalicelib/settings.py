"""Runtime settings read from the environment once per container (Chalice sets them per stage)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

from chalicelib import topology
from chalicelib.domain.calendar import DEFAULT_SAME_DAY_CUTOFF, Season, parse_office_hours
from chalicelib.domain.shipments import DEFAULT_SERVICE_LEVELS, Route, parse_service_levels
from chalicelib.domain.timeliness import INDEX_SUPPLEMENT_POLICY, RepeatedSupplementScope, SupplementPolicy

DEFAULT_OFFICE_HOURS = "07:30-11:30,13:30-17:00"
"""Office hours where a stage sets no `OFFICE_HOURS`: morning and afternoon with the lunch break, Vietnam time."""

# Where Cognito publishes a pool's tokens' issuer and signing keys (the pool id starts with its region).
COGNITO_ISSUER = "https://cognito-idp.{region}.amazonaws.com/{pool_id}"
JWKS_PATH = "/.well-known/jwks.json"


@dataclass(frozen=True)
class CognitoPool:
    """A deployed user pool whose ID tokens the API accepts: its issuer, signing keys and app clients."""

    spec: topology.UserPoolSpec
    client_ids: tuple[str, ...]
    issuer: str
    jwks_url: str

    @classmethod
    def deployed(cls, spec: topology.UserPoolSpec, pool_id: str, client_ids: tuple[str, ...]) -> CognitoPool:
        issuer = COGNITO_ISSUER.format(region=pool_id.partition("_")[0], pool_id=pool_id)
        return cls(spec, client_ids, issuer, issuer + JWKS_PATH)


def cognito_pools(env: Mapping[str, str]) -> tuple[CognitoPool, ...]:
    """The pools the deployed template names in the API function's environment (none in the local stage)."""
    return tuple(
        CognitoPool.deployed(spec, env[spec.pool_id_variable],
                             tuple(c for c in env.get(spec.client_ids_variable, "").split(",") if c))
        for spec in topology.USER_POOLS
        if env.get(spec.pool_id_variable)
    )


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    province_code: int
    jwt_algorithm: str  # HS256 in the local stage, RS256 where an identity provider signs tokens
    jwt_key: str  # the shared secret (HS256) or the PEM public key (RS256); empty: read `jwt_key_parameter`
    jwt_issuer: str
    jwt_audience: str
    catalogue_cache_s: int = 300
    jwt_key_parameter: str = ""  # SSM SecureString holding the key (deployed stages), read once per container
    jwt_max_lifetime_s: int = 24 * 3600  # a token living longer than this is refused, whoever signed it
    # Cognito user pools (deployed stages): when any is set, tokens are their ID tokens, verified with their JWKS,
    # and the JWT_* issuer, audience and key settings above are not used.
    cognito_pools: tuple[CognitoPool, ...] = ()
    # The province's office hours, by season (`OFFICE_HOURS`, see `calendar.parse_office_hours`), and the hour after
    # which same-day work is due the next working day (`SAME_DAY_CUTOFF`, Decree 23/2015/NĐ-CP art. 21: 15:00).
    office_hours: tuple[Season, ...] = field(default_factory=lambda: parse_office_hours(DEFAULT_OFFICE_HOURS))
    same_day_cutoff: time = DEFAULT_SAME_DAY_CUTOFF
    # The repeated-supplement rule of index 2.1 as the province configures it (the law leaves the exceptions to
    # it): `SUPPLEMENT_SCOPE`, `SUPPLEMENT_ALLOWED_REQUESTS`, `SUPPLEMENT_EXEMPT_PROCEDURES` (comma-separated codes).
    supplement_policy: SupplementPolicy = INDEX_SUPPLEMENT_POLICY
    # J+n working days from a shipment's acceptance to its delivery, by route (`POSTAL_SERVICE_LEVELS`,
    # e.g. `same_commune=1,same_province=2,other_province=4`)
    postal_service_levels: dict[Route, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_LEVELS))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        stage = env.get("DVC_STAGE", "local")
        pools = cognito_pools(env)
        return cls(
            stage=stage,
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "ap-southeast-1")),
            province_code=int(env.get("PROVINCE_CODE", "46")),
            jwt_algorithm=env.get("JWT_ALGORITHM", "HS256"),
            jwt_key=env.get("JWT_KEY", ""),
            jwt_issuer=env.get("JWT_ISSUER", "dvc-local"),
            jwt_audience=env.get("JWT_AUDIENCE", "dvc-api"),
            catalogue_cache_s=int(env.get("CATALOGUE_CACHE_SECONDS", "300")),
            jwt_key_parameter=env.get("JWT_KEY_PARAMETER", "")
            or ("" if env.get("JWT_KEY") or pools else topology.JWT_KEY_PARAMETER.physical(stage)),
            cognito_pools=pools,
            jwt_max_lifetime_s=int(env.get("JWT_MAX_LIFETIME_SECONDS", str(24 * 3600))),
            office_hours=parse_office_hours(env.get("OFFICE_HOURS", DEFAULT_OFFICE_HOURS)),
            same_day_cutoff=time.fromisoformat(env.get("SAME_DAY_CUTOFF", DEFAULT_SAME_DAY_CUTOFF.isoformat("minutes"))),
            supplement_policy=SupplementPolicy(
                scope=RepeatedSupplementScope(env.get("SUPPLEMENT_SCOPE", INDEX_SUPPLEMENT_POLICY.scope.value)),
                allowed_requests=int(env.get("SUPPLEMENT_ALLOWED_REQUESTS", str(INDEX_SUPPLEMENT_POLICY.allowed_requests))),
                exempt_procedures=frozenset(c for c in env.get("SUPPLEMENT_EXEMPT_PROCEDURES", "").split(",") if c),
            ),
            postal_service_levels=parse_service_levels(env.get("POSTAL_SERVICE_LEVELS", "")),
        )

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    def table(self, spec: topology.TableSpec) -> str:
        return spec.physical(self.stage)

    @property
    def bus_name(self) -> str:
        return topology.bus_name(self.stage)

    @property
    def documents_bucket(self) -> str:
        return topology.DOCUMENTS_BUCKET.physical(self.stage)
