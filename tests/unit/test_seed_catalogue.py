"""Checks on the starter catalogue seed data (departments and procedures)."""

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
SEED_DIR = CHALICELIB / "seed"
SCHEMA_DIR = CHALICELIB / "schemas"


def _load(path: Path):
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def departments():
    return _load(SEED_DIR / "departments.json")


@pytest.fixture(scope="module")
def procedures():
    return _load(SEED_DIR / "procedures.json")


@pytest.fixture(scope="module")
def department_validator():
    schema = _load(SCHEMA_DIR / "department.v1.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def procedure_validator():
    schema = _load(SCHEMA_DIR / "procedure.v1.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _strings(value):
    """Yield every string (keys included) inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _errors(validator, entries):
    return [
        f"[{index}] {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for index, entry in enumerate(entries)
        for error in validator.iter_errors(entry)
    ]


def test_files_are_json_lists(departments, procedures):
    assert isinstance(departments, list)
    assert isinstance(procedures, list)


def test_departments_match_schema(departments, department_validator):
    assert _errors(department_validator, departments) == []


def test_procedures_match_schema(procedures, procedure_validator):
    assert _errors(procedure_validator, procedures) == []


def test_department_counts(departments):
    kinds = Counter(entry["kind"] for entry in departments)
    assert kinds["department"] >= 14
    assert kinds["service_centre"] == 1


def test_service_centre_key(departments):
    centres = [entry for entry in departments if entry["kind"] == "service_centre"]
    assert [entry["key"] for entry in centres] == ["ttpvhcc"]


def test_department_keys_unique(departments):
    keys = [entry["key"] for entry in departments]
    duplicates = [key for key, count in Counter(keys).items() if count > 1]
    assert duplicates == []


def test_at_least_32_procedures(procedures):
    assert len(procedures) >= 32


def test_procedure_codes_unique(procedures):
    codes = [entry["code"] for entry in procedures]
    duplicates = [code for code, count in Counter(codes).items() if count > 1]
    assert duplicates == []


def test_referenced_departments_exist(departments, procedures):
    keys = {entry["key"] for entry in departments}
    missing = [
        (entry["code"], entry["department"])
        for entry in procedures
        if entry["department"] is not None and entry["department"] not in keys
    ]
    assert missing == []


def test_department_matches_level(procedures):
    wrong = [
        entry["code"]
        for entry in procedures
        if (entry["level"] == "province") != (entry["department"] is not None)
    ]
    assert wrong == []


def test_all_strings_nfc(departments, procedures):
    bad = [
        text
        for text in _strings([departments, procedures])
        if not unicodedata.is_normalized("NFC", text)
    ]
    assert bad == []


def test_at_least_three_internal(procedures):
    assert sum(1 for entry in procedures if entry["internal"] is True) >= 3


def test_document_types_unique_per_procedure(procedures):
    for entry in procedures:
        types = [document["type"] for document in entry["required_documents"]]
        assert len(types) == len(set(types)), entry["code"]


def test_fee_amounts_are_plain_ints(procedures):
    for entry in procedures:
        for fee in entry["fees"]:
            amount = fee["amount"]
            assert type(amount) is int, (entry["code"], fee)
            assert amount >= 0, (entry["code"], fee)


def test_processing_times_are_plain_ints_with_a_unit(procedures):
    for entry in procedures:
        assert type(entry["processing_time"]["amount"]) is int, entry["code"]
        assert entry["processing_time"]["unit"] in {"hours", "working_days", "days", "months"}, entry["code"]
