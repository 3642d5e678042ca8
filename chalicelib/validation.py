"""JSON Schema validation (draft 2020-12) against the schemas in `chalicelib/schemas/`, and NFC normalising."""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from chalicelib.domain.errors import ValidationError

SCHEMA_DIR = Path(__file__).parent / "schemas"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return schema


def nfc(value: Any) -> Any:
    """The same value with every string NFC-normalised (keys included), so comparisons and storage agree."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(item) for item in value]
    if isinstance(value, dict):
        return {nfc(key): nfc(item) for key, item in value.items()}
    return value


def validate(schema_name: str, instance: Any) -> None:
    """Raise `ValidationError` listing each problem by its JSON path, most relevant first."""
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    problems = [{"path": _path(error.absolute_path), "problem": error.message} for error in errors[:20]]
    first = problems[0]
    raise ValidationError(
        f"Dữ liệu không hợp lệ tại {first['path']}: {first['problem']} (invalid request; see details)",
        details={"problems": problems},
    )


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
