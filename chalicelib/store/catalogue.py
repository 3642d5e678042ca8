"""Catalogue reads (agencies, procedures) with a per-container cache, and the writes seeding uses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.domain.catalogue import (
    Agency,
    Procedure,
    agency_from_data,
    agency_to_data,
    procedure_from_data,
    procedure_to_data,
)
from chalicelib.domain.errors import agency_not_found, procedure_not_found
from chalicelib.store.models import CatalogueModel

# Keys of the catalogue table, in one place. Besides its own item, every agency has an entry in one listing
# partition, so "every agency's code" is a Query, never a Scan (the deployed policy allows no Scan). A province has
# at most a few hundred agencies and the listing is read once a day: a small partition, never hot.
AGENCY_PREFIX = "AGENCY#"
AGENCY_LISTING_PK = "AGENCIES"


def agency_key(code: str) -> tuple[str, str]:
    """The agency's own item: `AGENCY#{code} / AGENCY`."""
    return f"{AGENCY_PREFIX}{code}", "AGENCY"


def agency_listing_key(code: str) -> tuple[str, str]:
    """The agency's entry in the listing partition: `AGENCIES / AGENCY#{code}`."""
    return AGENCY_LISTING_PK, f"{AGENCY_PREFIX}{code}"


def agency_listing_item(agency: Agency) -> CatalogueModel:
    return CatalogueModel(*agency_listing_key(agency.code), data={"code": agency.code})


def agency_to_item(agency: Agency) -> CatalogueModel:
    return CatalogueModel(*agency_key(agency.code), data=agency_to_data(agency))


def procedure_to_item(procedure: Procedure) -> CatalogueModel:
    return CatalogueModel(f"PROCEDURE#{procedure.code}", "PROCEDURE", data=procedure_to_data(procedure))


class CatalogueRepository:
    """Agencies and procedures change rarely; each container keeps what it read for `ttl_s` seconds."""

    def __init__(self, ttl_s: int = 300, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def _data(self, pk: str, sk: str) -> dict[str, Any] | None:
        now = self._monotonic()
        hit = self._cache.get(pk)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            data: dict[str, Any] | None = CatalogueModel.get(pk, sk).data
        except CatalogueModel.DoesNotExist:
            data = None
        self._cache[pk] = (now + self._ttl_s, data)
        return data

    def agency(self, code: str) -> Agency:
        data = self._data(*agency_key(code))
        if data is None:
            raise agency_not_found(code)
        return agency_from_data(data)

    def procedure(self, code: str) -> Procedure:
        data = self._data(f"PROCEDURE#{code}", "PROCEDURE")
        if data is None:
            raise procedure_not_found(code)
        return procedure_from_data(data)

    @staticmethod
    def agency_codes(*, page_size: int | None = None) -> list[str]:
        """Every agency's code: a Query of the listing partition, followed page by page to its end."""
        entries = CatalogueModel.query(
            AGENCY_LISTING_PK, CatalogueModel.sk.startswith(AGENCY_PREFIX), page_size=page_size
        )
        return sorted(entry.sk.removeprefix(AGENCY_PREFIX) for entry in entries)

    @staticmethod
    def save_all(agencies: Iterable[Agency], procedures: Iterable[Procedure]) -> int:
        """Write agencies, each with its listing entry, and procedures; returns how many of both were saved."""
        agency_list, procedure_list = list(agencies), list(procedures)
        items = [item for a in agency_list for item in (agency_to_item(a), agency_listing_item(a))]
        items += [procedure_to_item(p) for p in procedure_list]
        with CatalogueModel.batch_write() as batch:
            for item in items:
                batch.save(item)
        return len(agency_list) + len(procedure_list)
