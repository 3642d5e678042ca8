"""Catalogue value objects: agencies (a hierarchy held as data) and procedures with their fees and documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .vocabulary import AgencyLevel, OnlineForm


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


@dataclass(frozen=True)
class FeeLine:
    name: str
    amount: int  # whole VND

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError(f"fee amount must be a non-negative whole number of VND, got {self.amount!r}")


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
    processing_days: int
    required_documents: tuple[DocumentType, ...]
    postal_result: bool
    paper_result: bool = True
    paper_free_days: frozenset[date] = frozenset()  # pilot days when desks refuse paper for this procedure

    @property
    def fees_total(self) -> int:
        return sum(line.amount for line in self.fees)

    def is_offered_at(self, agency: Agency) -> bool:
        """Commune procedures at communes; province procedures at their department or the service centre."""
        if agency.level != self.level:
            return False
        if self.level != AgencyLevel.PROVINCE:
            return True
        return agency.kind == "service_centre" or agency.department == self.department
