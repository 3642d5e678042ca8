"""Catalogue reads (agencies, procedures) with a per-container cache, and the writes seeding uses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from chalicelib.domain.catalogue import (
    Agency,
    Procedure,
    agency_from_data,
    agency_to_data,
    procedure_from_data,
    procedure_to_data,
)
from chalicelib.domain.catalogue_search import ListedProcedure
from chalicelib.domain.errors import agency_not_found, procedure_not_found
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import CatalogueModel

# Keys of the catalogue table, in one place. Besides its own item, every agency has an entry in one listing
# partition, so "every agency" is a Query, never a Scan (the deployed policy allows no Scan). A province has at most
# a few hundred agencies; the listing is read by the deadline watch once a day and for the agency tree once per
# container per `ttl_s`: a small partition, never hot.
AGENCY_PREFIX = "AGENCY#"
AGENCY_LISTING_PK = "AGENCIES"
# Procedures have one listing partition too, each entry the whole procedure with its name's search key (folded when
# written). The app's catalogue reads and filters it in memory: ~2,000 procedures of ~1 KB are two or three Query
# pages, read once per container per `ttl_s`; per-level or per-agency partitions would still leave the name search
# to memory, and would have to be rewritten whenever an agency or a procedure's level or department changes.
PROCEDURE_PREFIX = "PROCEDURE#"
PROCEDURE_LISTING_PK = "PROCEDURES"

T = TypeVar("T")


def agency_key(code: str) -> tuple[str, str]:
    """The agency's own item: `AGENCY#{code} / AGENCY`."""
    return f"{AGENCY_PREFIX}{code}", "AGENCY"


def agency_listing_key(code: str) -> tuple[str, str]:
    """The agency's entry in the listing partition: `AGENCIES / AGENCY#{code}`."""
    return AGENCY_LISTING_PK, f"{AGENCY_PREFIX}{code}"


def agency_listing_item(agency: Agency) -> CatalogueModel:
    """The listing entry carries the whole agency, so the agency tree is one Query."""
    return CatalogueModel(*agency_listing_key(agency.code), data=agency_to_data(agency))


def agency_to_item(agency: Agency) -> CatalogueModel:
    return CatalogueModel(*agency_key(agency.code), data=agency_to_data(agency))


def procedure_to_item(procedure: Procedure) -> CatalogueModel:
    return CatalogueModel(f"{PROCEDURE_PREFIX}{procedure.code}", "PROCEDURE", data=procedure_to_data(procedure))


def procedure_listing_key(code: str) -> tuple[str, str]:
    """The procedure's entry in the listing partition: `PROCEDURES / PROCEDURE#{code}`."""
    return PROCEDURE_LISTING_PK, f"{PROCEDURE_PREFIX}{code}"


def procedure_listing_item(procedure: Procedure) -> CatalogueModel:
    listed = ListedProcedure.of(procedure)
    return CatalogueModel(*procedure_listing_key(procedure.code),
                          data={"procedure": procedure_to_data(procedure), "search_key": listed.search_key})


class CatalogueRepository:
    """Agencies and procedures change rarely; each container keeps what it read for `ttl_s` seconds, parsed (they are
    frozen), so a submission's two lookups cost two dictionary reads."""

    def __init__(self, ttl_s: int = 300, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Any]] = {}

    def _read(self, pk: str, sk: str, parse: Callable[[dict[str, Any]], T]) -> T | None:
        now = self._monotonic()
        hit = self._cache.get(pk)
        if hit is not None and hit[0] > now:
            found: T = hit[1]
            return found
        try:
            with storage_errors():
                data: dict[str, Any] = CatalogueModel.get(pk, sk).data
        except CatalogueModel.DoesNotExist:
            return None  # misses are not kept: anyone can ask for any number of codes that do not exist
        parsed = parse(data)
        self._cache[pk] = (now + self._ttl_s, parsed)
        return parsed

    def agency(self, code: str) -> Agency:
        agency = self._read(*agency_key(code), agency_from_data)
        if agency is None:
            raise agency_not_found(code)
        return agency

    def procedure(self, code: str) -> Procedure:
        procedure = self._read(f"{PROCEDURE_PREFIX}{code}", "PROCEDURE", procedure_from_data)
        if procedure is None:
            raise procedure_not_found(code)
        return procedure

    @staticmethod
    def agency_codes(*, page_size: int | None = None) -> list[str]:
        """Every agency's code: a Query of the listing partition, followed page by page to its end."""
        with storage_errors():
            entries = CatalogueModel.query(
                AGENCY_LISTING_PK, CatalogueModel.sk.startswith(AGENCY_PREFIX), page_size=page_size
            )
            return sorted(entry.sk.removeprefix(AGENCY_PREFIX) for entry in entries)

    @staticmethod
    def save_all(agencies: Iterable[Agency], procedures: Iterable[Procedure]) -> int:
        """Write agencies, each with its listing entry, and procedures; returns how many of both were saved."""
        agency_list, procedure_list = list(agencies), list(procedures)
        items = [item for a in agency_list for item in (agency_to_item(a), agency_listing_item(a))]
        items += [item for p in procedure_list for item in (procedure_to_item(p), procedure_listing_item(p))]
        with CatalogueModel.batch_write() as batch:
            for item in items:
                batch.save(item)
        return len(agency_list) + len(procedure_list)


class CatalogueListingRepository:
    """The two listing partitions, each read whole by a paged Query and kept per container for `ttl_s` seconds."""

    def __init__(self, ttl_s: int = 300, monotonic: Callable[[], float] = time.monotonic,
                 page_size: int | None = None) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._page_size = page_size
        self._cache: dict[str, tuple[float, Any]] = {}

    def _listing(self, pk: str, prefix: str, read: Callable[[CatalogueModel], T]) -> list[T]:
        now = self._monotonic()
        hit = self._cache.get(pk)
        if hit is not None and hit[0] > now:
            return list(hit[1])
        with storage_errors():
            entries = CatalogueModel.query(pk, CatalogueModel.sk.startswith(prefix), page_size=self._page_size)
            found = [read(entry) for entry in entries]  # in sort-key order: by code
        self._cache[pk] = (now + self._ttl_s, tuple(found))
        return found

    def listed_procedures(self) -> list[ListedProcedure]:
        return self._listing(PROCEDURE_LISTING_PK, PROCEDURE_PREFIX, _listed_procedure)

    def agencies(self) -> list[Agency]:
        return self._listing(AGENCY_LISTING_PK, AGENCY_PREFIX, _listed_agency)


def _listed_procedure(entry: CatalogueModel) -> ListedProcedure:
    return ListedProcedure(procedure_from_data(entry.data["procedure"]), str(entry.data["search_key"]))


def _listed_agency(entry: CatalogueModel) -> Agency:
    if "name" in entry.data:
        return agency_from_data(entry.data)
    # an entry written before listing entries carried the agency: its own item, until the next seed rewrites it
    return agency_from_data(CatalogueModel.get(*agency_key(entry.data["code"])).data)
