"""Seed a province: its agencies (from `vietnam-provinces` and the department list), the procedure catalogue and
example paper-free days.

Agency codes follow one scheme, documented in the README: the province root `H{pp}`, its public-service
centre `H{pp}.00`, departments `H{pp}.01`…, communes `H{pp}.C{ward code}`. Real identifiers under Decision
20/2020/QĐ-TTg differ per province; importing them is data work, not code.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from vietnam_provinces import Province, ProvinceCode, Ward

from chalicelib.domain.catalogue import Agency, Procedure, procedure_from_data, province_root_code
from chalicelib.domain.directives import PaperFreeDays, plan_paper_free_days
from chalicelib.domain.vocabulary import AgencyLevel
from chalicelib.store.catalogue import CatalogueRepository
from chalicelib.store.paper_free_days import PaperFreeDaysRepository
from chalicelib.validation import nfc, validate

SEED_DIR = Path(__file__).resolve().parents[1] / "chalicelib" / "seed"


def agencies(province_code: int) -> list[Agency]:
    province = Province.from_code(ProvinceCode(province_code))
    root = province_root_code(province_code)
    out = [Agency(root, nfc(f"UBND {province.name}"), AgencyLevel.PROVINCE, "province", (root,))]
    departments: list[dict[str, Any]] = json.loads((SEED_DIR / "departments.json").read_text(encoding="utf-8"))
    number = 1
    for entry in departments:
        validate("department.v1.json", entry)
        if entry["kind"] == "service_centre":
            code = f"{root}.00"
        else:
            code, number = f"{root}.{number:02d}", number + 1
        name = nfc(entry["name"] if entry["kind"] != "service_centre" else f"{entry['name']} {province.name}")
        out.append(Agency(code, name, AgencyLevel.PROVINCE, entry["kind"], (root, code), department=entry["key"]))
    for ward in Ward.iter_by_province(ProvinceCode(province_code)):
        code = f"{root}.C{int(ward.code):05d}"
        out.append(Agency(code, nfc(f"UBND {ward.name}"), AgencyLevel.COMMUNE, "commune", (root, code)))
    return out


def procedures() -> list[Procedure]:
    entries: list[dict[str, Any]] = json.loads((SEED_DIR / "procedures.json").read_text(encoding="utf-8"))
    out = []
    for entry in entries:
        validate("procedure.v1.json", entry)
        out.append(procedure_from_data(nfc(entry)))
    return out


def paper_free_days(agency_list: list[Agency], procedure_list: list[Procedure]) -> list[PaperFreeDays]:
    """The example schedules of `paper-free-days.json`, each checked as the admin route checks it."""
    seed_file: dict[str, Any] = json.loads((SEED_DIR / "paper-free-days.json").read_text(encoding="utf-8"))
    by_department = {a.department: a for a in agency_list if a.kind == "department"}
    by_code = {p.code: p for p in procedure_list}
    return [
        plan_paper_free_days(
            by_department[entry["department"]], (date.fromisoformat(day) for day in entry["days"]),
            (by_code[code] for code in entry["procedure_codes"]),
        )
        for entry in seed_file["schedules"]
    ]


def seed(province_code: int) -> dict[str, int]:
    agency_list, procedure_list = agencies(province_code), procedures()
    CatalogueRepository.save_all(agency_list, procedure_list)
    schedules = PaperFreeDaysRepository()
    for schedule in paper_free_days(agency_list, procedure_list):
        schedules.save(schedule)
    return {"agencies": len(agency_list), "procedures": len(procedure_list)}
