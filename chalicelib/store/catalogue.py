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


def agency_to_item(agency: Agency) -> CatalogueModel:
    data = {
        "code": agency.code,
        "name": agency.name,
        "level": agency.level.value,
        "kind": agency.kind,
        "path": list(agency.path),
        "department": agency.department,
    }
    return CatalogueModel(f"AGENCY#{agency.code}", "AGENCY", data=data)


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
        data = self._data(f"AGENCY#{code}", "AGENCY")
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
    def agency_codes() -> list[str]:
        """Every agency's code. A scan of the small catalogue table, never of dossiers."""
        items = CatalogueModel.scan(CatalogueModel.pk.startswith("AGENCY#"))
        return sorted(item.pk.removeprefix("AGENCY#") for item in items)

    @staticmethod
    def save_all(agencies: Iterable[Agency], procedures: Iterable[Procedure]) -> int:
        items = [agency_to_item(a) for a in agencies] + [procedure_to_item(p) for p in procedures]
        with CatalogueModel.batch_write() as batch:
            for item in items:
                batch.save(item)
        return len(items)
