"""JSON Schema validation (draft 2020-12) against the schemas in `chalicelib/schemas/`, and NFC normalising.

Two places where Python would read a schema differently from its standard (ECMA-262 regular expressions) are
fixed here, once, for every schema: `$` matches only at the very end (Python's also matches before a trailing
newline, so `"046190000123\\n"` passed `^[0-9]{12}$`), and `\\d`/`\\w` are ASCII (Python's match '²' and '٣').
The formats `text-line` and `text-block` carry the text policy of `chalicelib.input_policy`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema import ValidationError as SchemaError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.domain.errors import ValidationError
from chalicelib.input_policy import clip, is_text_block, is_text_line

SCHEMA_DIR = Path(__file__).parent / "schemas"
MAX_PROBLEMS = 20


def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled with ECMA-262 meaning: an unescaped `$` outside a class is the end of input."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out), re.ASCII)


_compiled = cache(ecma_regex)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[SchemaError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield SchemaError(f"does not match the pattern {pattern}")


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ISO_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})")


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_instant(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _ISO_INSTANT.fullmatch(value):
        return False
    try:  # 0001-01-01T00:00+14:00 parses, but is no instant UTC can hold
        datetime.fromisoformat(value).astimezone(UTC)  # 3.11 reads the Z
    except (ValueError, OverflowError):
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker()
    for name, check in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        checker.checkers[name] = check
    checker.checkers["date"] = (_is_date, ())
    checker.checkers["date-time"] = (_is_instant, ())
    checker.checkers["text-line"] = (lambda v: not isinstance(v, str) or is_text_line(v), ())
    checker.checkers["text-block"] = (lambda v: not isinstance(v, str) or is_text_block(v), ())
    return checker


FORMAT_CHECKER = _format_checker()
Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        resources.append((path.name, DRAFT202012.create_resource(_ours(json.loads(path.read_text(encoding="utf-8"))))))
    return Registry().with_resources(resources)


def _ours(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without `$schema`: jsonschema picks the validator class of a `$ref`'s target from it, which would
    drop our ECMA `pattern` and formats for every schema reached through a `$ref` (all our files are 2020-12)."""
    return {key: value for key, value in schema.items() if key != "$schema"}


@cache
def _validator(name: str) -> Any:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Validator(_ours(schema), registry=_registry(), format_checker=FORMAT_CHECKER)


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


_TEXT_FORMAT_PROBLEM = {
    "text-line": "must be one line of text, not blank, without control characters",
    "text-block": "must be text, not blank, without control or bidirectional control characters",
}


def describe(error: SchemaError) -> str:
    """What is wrong, in words drawn from the schema, never the client's value (which may be megabytes)."""
    keyword, expected = error.validator, error.validator_value
    if keyword == "format":
        return _TEXT_FORMAT_PROBLEM.get(str(expected), f"is not a valid {expected}")
    if keyword == "maxLength":
        return f"is longer than {expected} characters"
    if keyword == "minLength":
        return f"is shorter than {expected} characters"
    wording = {"type": "must be of type", "minimum": "must be at least", "maximum": "must be at most",
               "exclusiveMinimum": "must be more than", "exclusiveMaximum": "must be less than",
               "minItems": "must have at least this many items:", "maxItems": "must have at most this many items:"}
    if keyword in wording:
        return f"{wording[keyword]} {expected}"
    if keyword == "enum":
        return f"is not one of {clip(json.dumps(expected, ensure_ascii=False), 300)}"
    return clip(str(error.message), 200)


@cache
def _inline_validator(schema_json: str) -> Any:
    return Validator(json.loads(schema_json), registry=_registry(), format_checker=FORMAT_CHECKER)


def describe_instance(schema: dict[str, Any], instance: Any) -> str | None:
    """The first problem of `instance` against an inline schema (a parameter's), in words; None if it is valid."""
    validator = _inline_validator(json.dumps(schema, sort_keys=True))
    error = next(iter(validator.iter_errors(instance)), None)
    return None if error is None else describe(error)


def conforms(schema_name: str, instance: Any) -> bool:
    """Whether `instance` is valid against the named schema: for callers that answer in a protocol of their own
    (a payment gateway's codes) rather than with our error shape."""
    return next(iter(_validator(schema_name).iter_errors(instance)), None) is None


def validate(schema_name: str, instance: Any) -> None:
    """Raise `ValidationError` listing each problem by its JSON path, most relevant first."""
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    problems = [{"path": clip(_path(error.absolute_path)), "problem": describe(error)} for error in errors[:MAX_PROBLEMS]]
    first = problems[0]
    raise ValidationError(
        f"Dữ liệu không hợp lệ tại {first['path']}: {first['problem']} (invalid request; see details)",
        details={"problems": problems},
    )


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{clip(str(part), 40)}"
    return out
