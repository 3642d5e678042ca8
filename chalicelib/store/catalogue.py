"""Catalogue reads (agencies, procedures) with a per-container cache, and the writes seeding uses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from chalicelib.domain.catalogue import Agency, DocumentType, FeeLine, Procedure
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.vocabulary import AgencyLevel, OnlineForm
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
    data = {
        "code": agency.code,
        "name": agency.name,
        "level": agency.level.value,
        "kind": agency.kind,
        "path": list(agency.path),
        "department": agency.department,
    }
    return CatalogueModel(*agency_key(agency.code), data=data)


def agency_from_data(data: dict[str, Any]) -> Agency:
    return Agency(
        code=data["code"],
        name=data["name"],
        level=AgencyLevel(data["level"]),
        kind=data["kind"],
        path=tuple(data["path"]),
        department=data.get("department"),
    )


def procedure_to_item(procedure: Procedure) -> CatalogueModel:
    data = {
        "code": procedure.code,
        "name": procedure.name,
        "field": procedure.field,
        "level": procedure.level.value,
        "department": procedure.department,
        "online_form": procedure.online_form.value,
        "internal": procedure.internal,
        "fees": [{"name": f.name, "amount": f.amount} for f in procedure.fees],
        "processing_days": procedure.processing_days,
        "required_documents": [{"type": d.type, "name": d.name} for d in procedure.required_documents],
        "postal_result": procedure.postal_result,
        "paper_result": procedure.paper_result,
        "paper_free_days": sorted(day.isoformat() for day in procedure.paper_free_days),
    }
    return CatalogueModel(f"PROCEDURE#{procedure.code}", "PROCEDURE", data=data)


def procedure_from_data(data: dict[str, Any]) -> Procedure:
    return Procedure(
        code=data["code"],
        name=data["name"],
        field=data["field"],
        level=AgencyLevel(data["level"]),
        department=data.get("department"),
        online_form=OnlineForm(data["online_form"]),
        internal=bool(data["internal"]),
        fees=tuple(FeeLine(f["name"], int(f["amount"])) for f in data["fees"]),
        processing_days=int(data["processing_days"]),
        required_documents=tuple(DocumentType(d["type"], d["name"]) for d in data["required_documents"]),
        postal_result=bool(data["postal_result"]),
        paper_result=bool(data.get("paper_result", True)),
        paper_free_days=frozenset(date.fromisoformat(day) for day in data.get("paper_free_days", [])),
    )


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
            raise NotFoundError(
                f"Không tìm thấy cơ quan có mã {code}. (No agency with code {code}.)", code="AGENCY_NOT_FOUND"
            )
        return agency_from_data(data)

    def procedure(self, code: str) -> Procedure:
        data = self._data(f"PROCEDURE#{code}", "PROCEDURE")
        if data is None:
            raise NotFoundError(
                f"Không tìm thấy thủ tục có mã {code}. (No procedure with code {code}.)", code="PROCEDURE_NOT_FOUND"
            )
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
