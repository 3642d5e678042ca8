"""Runtime settings read from the environment once per container (Chalice sets them per stage)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib import topology


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    province_code: int
    jwt_algorithm: str  # HS256 in the local stage, RS256 where an identity provider signs tokens
    jwt_key: str  # the shared secret (HS256) or the PEM public key (RS256)
    jwt_issuer: str
    jwt_audience: str
    catalogue_cache_s: int = 300

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            stage=env.get("DVC_STAGE", "local"),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "ap-southeast-1")),
            province_code=int(env.get("PROVINCE_CODE", "46")),
            jwt_algorithm=env.get("JWT_ALGORITHM", "HS256"),
            jwt_key=env.get("JWT_KEY", ""),
            jwt_issuer=env.get("JWT_ISSUER", "dvc-local"),
            jwt_audience=env.get("JWT_AUDIENCE", "dvc-api"),
            catalogue_cache_s=int(env.get("CATALOGUE_CACHE_SECONDS", "300")),
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
