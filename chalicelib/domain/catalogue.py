"""Catalogue value objects: agencies (a hierarchy held as data) and procedures with their fees and documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .calendar import ProcessingTime, TimeUnit
from .vocabulary import AgencyLevel, ApplicantKind, OnlineForm


def province_root_code(province_code: int) -> str:
    """The code of a province's root agency, e.g. `H46` for province 46; every agency code starts with it."""
    return f"H{province_code:02d}"


@dataclass(frozen=True)
class Agency:
    """An agency that receives dossiers. `path` lists its ancestors from the province root down, itself last."""

    code: str
    name: str
    level: AgencyLevel
    kind: str  # province | department | service_centre | district | commune
    path: tuple[str, ...]
    department: str | None = None  # the department key for province-level bodies


def _is_vnd(amount: object) -> bool:
    return isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0


@dataclass(frozen=True)
class FeeLine:
    name: str
    amount: int  # whole VND
    online_amount: int | None = None  # what an online filing pays instead, where the fee law sets it lower
    exempt: frozenset[ApplicantKind] = frozenset()  # applicant kinds the fee law exempts from this line

    def __post_init__(self) -> None:
        if not _is_vnd(self.amount):
            raise ValueError(f"fee amount must be a non-negative whole number of VND, got {self.amount!r}")
        if self.online_amount is not None and (not _is_vnd(self.online_amount) or self.online_amount >= self.amount):
            raise ValueError(f"an online amount must be a whole number of VND below {self.amount}, got {self.online_amount!r}")

    def amount_for(self, online: bool) -> int:
        """What this line costs a dossier filed online (`online`) or on paper."""
        return self.online_amount if online and self.online_amount is not None else self.amount

    def charged_to(self, kind: ApplicantKind, online: bool) -> int:
        """What this line costs an applicant of `kind` filing online (`online`) or on paper."""
        return 0 if kind in self.exempt else self.amount_for(online)


@dataclass(frozen=True)
class DocumentType:
    type: str
    name: str


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field: str
    level: AgencyLevel
    department: str | None
    online_form: OnlineForm
    internal: bool
    fees: tuple[FeeLine, ...]
    processing_time: ProcessingTime  # with its unit, as the national procedure database gives it
    required_documents: tuple[DocumentType, ...]
    postal_result: bool
    paper_result: bool = True
    paper_free_days: frozenset[date] = frozenset()  # pilot days when desks refuse paper for this procedure

    @property
    def fees_total(self) -> int:
        """The paper fee, before any exemption: what the catalogue shows."""
        return sum(line.amount for line in self.fees)

    def fees_for(self, kind: ApplicantKind, online: bool) -> int:
        """What a dossier of an applicant of `kind` owes, filed online (`online`) or on paper (integer VND)."""
        return sum(line.charged_to(kind, online) for line in self.fees)

    def is_offered_at(self, agency: Agency) -> bool:
        """Commune procedures at communes; province procedures at their department or the service centre."""
        if agency.level != self.level:
            return False
        if self.level != AgencyLevel.PROVINCE:
            return True
        return agency.kind == "service_centre" or agency.department == self.department


class Catalogue(Protocol):
    """Where agencies and procedures are looked up (the catalogue table, or a fake in tests)."""

    def agency(self, code: str) -> Agency: ...
    def procedure(self, code: str) -> Procedure: ...
    def agency_codes(self) -> list[str]: ...


# The catalogue as plain data: the seed files, the catalogue table's items and the API all hold this one shape.


def agency_to_data(agency: Agency) -> dict[str, Any]:
    return {"code": agency.code, "name": agency.name, "level": agency.level.value, "kind": agency.kind,
            "path": list(agency.path), "department": agency.department}


def agency_from_data(data: dict[str, Any]) -> Agency:
    return Agency(code=data["code"], name=data["name"], level=AgencyLevel(data["level"]), kind=data["kind"],
                  path=tuple(data["path"]), department=data.get("department"))


def procedure_to_data(procedure: Procedure) -> dict[str, Any]:
    return {
        "code": procedure.code, "name": procedure.name, "field": procedure.field, "level": procedure.level.value,
        "department": procedure.department, "online_form": procedure.online_form.value, "internal": procedure.internal,
        "fees": [fee_to_data(f) for f in procedure.fees],
        "processing_time": {"amount": procedure.processing_time.amount, "unit": procedure.processing_time.unit.value},
        "required_documents": [{"type": d.type, "name": d.name} for d in procedure.required_documents],
        "postal_result": procedure.postal_result, "paper_result": procedure.paper_result,
        "paper_free_days": sorted(day.isoformat() for day in procedure.paper_free_days),
    }


def procedure_from_data(data: dict[str, Any]) -> Procedure:
    return Procedure(
        code=data["code"], name=data["name"], field=data["field"], level=AgencyLevel(data["level"]),
        department=data.get("department"), online_form=OnlineForm(data["online_form"]), internal=bool(data["internal"]),
        fees=tuple(fee_from_data(f) for f in data["fees"]),
        processing_time=processing_time_from_data(data),
        required_documents=tuple(DocumentType(d["type"], d["name"]) for d in data["required_documents"]),
        postal_result=bool(data["postal_result"]), paper_result=bool(data.get("paper_result", True)),
        paper_free_days=frozenset(date.fromisoformat(day) for day in data.get("paper_free_days", [])),
    )


def fee_to_data(fee: FeeLine) -> dict[str, Any]:
    data: dict[str, Any] = {"name": fee.name, "amount": fee.amount}
    if fee.online_amount is not None:
        data["online_amount"] = fee.online_amount
    if fee.exempt:
        data["exempt"] = sorted(kind.value for kind in fee.exempt)
    return data


def fee_from_data(data: dict[str, Any]) -> FeeLine:
    online = data.get("online_amount")
    return FeeLine(data["name"], int(data["amount"]), None if online is None else int(online),
                   frozenset(ApplicantKind(kind) for kind in data.get("exempt", ())))


def processing_time_from_data(data: dict[str, Any]) -> ProcessingTime:
    """The procedure's processing time; data written before units existed gives `processing_days`, in working days."""
    given = data.get("processing_time")
    if given is None:
        return ProcessingTime(int(data["processing_days"]), TimeUnit.WORKING_DAYS)
    return ProcessingTime(int(given["amount"]), TimeUnit(given["unit"]))
