"""The input policy at the boundary: strict JSON, text, digits, identifiers, and the schemas that carry it.

Each test is a regression test for a class of input that once answered 500 (issue 6's audit) or was stored
when it should not have been; the schema lint makes the classes impossible to reintroduce in a new schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app import app
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.kpi import months_of_period
from chalicelib.handlers.openapi import route_docs
from chalicelib.input_policy import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    ascii_int,
    is_text_block,
    is_text_line,
    json_depth,
    parse_json,
    text_problem,
)
from chalicelib.validation import SCHEMA_DIR, describe_instance, ecma_regex, load_schema, validate

# --- strict JSON -----------------------------------------------------------------------------------------


def refused(raw: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_json(raw)
    return caught.value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 5000, 100_000])
def test_json_nested_deeper_than_the_limit_is_refused_without_recursing(depth: int) -> None:
    assert refused(b"[" * depth + b"]" * depth).code == "BODY_TOO_DEEP"
    inside_a_field = b'{"a": ' + b"[" * depth + b'"x"' + b"]" * depth + b"}"
    assert refused(inside_a_field).code == "BODY_TOO_DEEP"


def test_json_at_the_depth_limit_parses() -> None:
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert json_depth(b'{"a": "[[[[[[\\"{{{{"}') == 1


@pytest.mark.parametrize("literal", [b"1" * (MAX_INT_DIGITS + 1), b"-" + b"9" * 5000, b"1" * 100_000])
def test_huge_integer_literals_are_refused_before_conversion(literal: bytes) -> None:
    assert refused(b'{"expected_version": ' + literal + b"}").code == "NUMBER_TOO_LARGE"


@pytest.mark.parametrize("literal", [b"1e999999", b"-1e400", b"0." + b"1" * 5000])
def test_floats_out_of_range_are_refused(literal: bytes) -> None:
    assert refused(b"[" + literal + b"]").code == "NUMBER_TOO_LARGE"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(constant: bytes) -> None:
    assert refused(b"[" + constant + b"]").code == "BODY_NOT_JSON"


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{", b"", b"'a'", b'{"a": 1,}'])
def test_malformed_json_is_refused(raw: bytes) -> None:
    assert refused(raw).code == "BODY_NOT_JSON"


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "\\ud800"}', b'{"name": "a\\udfffb"}', b'{"\\ud800": 1}', b'["ok", ["\\udbff"]]'],
    ids=["high", "low", "key", "nested"],
)
def test_lone_surrogates_anywhere_are_refused(raw: bytes) -> None:
    assert refused(raw).code == "TEXT_INVALID"


def test_a_surrogate_pair_is_one_character_and_welcome() -> None:
    assert parse_json(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\u2069"])
def test_controls_and_bidi_overrides_are_refused_in_every_string(char: str) -> None:
    assert text_problem(f"Nguyễn{char}Văn") is not None
    assert refused(json.dumps({"note": f"a{char}b"}).encode()).code == "TEXT_INVALID"


def test_an_error_never_echoes_a_huge_value() -> None:
    error = refused(json.dumps({"x" * 100_000: "\x00"}).encode())
    assert len(json.dumps(error.details)) < 1000
    assert len(error.message) < 500


# --- text formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "block"),
    [
        ("Nguyễn Thị Hoà", True, True),
        ("", False, False),
        ("   ", False, False),
        ("\u200b\u200b", False, False),  # zero-width spaces only: shows nothing
        ("\u200d \ufeff", False, False),
        ("Dòng 1\nDòng 2", False, True),
        ("046190000123\n", False, True),
        ("tab\there", False, True),
        ("a\u202eb", False, False),
    ],
)
def test_text_line_and_text_block(text: str, line: bool, block: bool) -> None:
    assert is_text_line(text) is line
    assert is_text_block(text) is block


# --- ECMA-262 patterns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^[0-9]{12}$", "046190000123", True),
        ("^[0-9]{12}$", "046190000123\n", False),  # Python's `$` would accept the trailing newline
        (r"^\d{4}$", "2026", True),
        (r"^\d{4}$", "²０²６", False),  # Python's `\d` would accept Unicode digits
        (r"^\d{4}$", "٢٠٢٦", False),
        ("^a[$]$", "a$", True),  # a `$` inside a class is a character
        (r"^a\$$", "a$", True),
    ],
)
def test_patterns_have_their_ecma_262_meaning(pattern: str, text: str, matches: bool) -> None:
    assert bool(ecma_regex(pattern).search(text)) is matches


def test_a_trailing_newline_is_not_a_national_id() -> None:
    assert describe_instance({"type": "string", "pattern": "^[0-9]{12}$"}, "046190000123\n") is not None


# --- ASCII digits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("20", 20), ("007", 7), ("²", None), ("٣", None), ("1e3", None),
                                            ("", None), ("-1", None), ("9" * 19, None)])
def test_integers_from_text_take_ascii_digits_only(raw: str, value: int | None) -> None:
    assert ascii_int(raw) == value


@pytest.mark.parametrize("period", ["²²²²-11", "２０２６-11", "2026-1", "2026-13", "2026-Q5", "2026-11\n", "26-11"])
def test_a_report_period_is_ascii_and_exact(period: str) -> None:
    with pytest.raises(ValueError):
        months_of_period(period)


# --- the schemas carry the policy ------------------------------------------------------------------------


def request_schemas() -> list[str]:
    """Every schema a client's input is validated against: route bodies, each action's body, token claims."""
    names = {doc.request_schema for _, _, doc in route_docs(app.routes) if doc and doc.request_schema}
    names |= {p.name for p in SCHEMA_DIR.glob("action-*.v1.json")}
    names.add("token-claims.v1.json")
    return sorted(names)


def strings_and_numbers(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") in ("string", "integer", "number"):
            yield path, node
        for key, value in node.items():
            yield from strings_and_numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings_and_numbers(value, f"{path}[{i}]")


TEXT_FORMATS = {"text-line", "text-block", "date", "date-time"}  # not "email": jsonschema only looks for an @


@pytest.mark.parametrize("schema_name", request_schemas())
def test_every_input_field_is_bounded_and_shaped(schema_name: str) -> None:
    """A string is an enum, an anchored pattern, or text under the text policy, and has a length bound;
    a number has both bounds. A new schema that forgets one fails here."""
    for path, node in strings_and_numbers(load_schema(schema_name)):
        if node["type"] == "string":
            if "enum" in node or "const" in node:
                continue
            pattern = node.get("pattern")
            assert pattern is None or (pattern.startswith("^") and pattern.endswith("$")), f"{path}: unanchored"
            assert pattern or node.get("format") in TEXT_FORMATS, f"{path}: neither a pattern nor a text format"
            assert "maxLength" in node, f"{path}: no maxLength"
        elif schema_name != "token-claims.v1.json":  # exp and iat are checked by PyJWT and the lifetime cap
            assert "maximum" in node and "minimum" in node, f"{path}: unbounded number"


def test_route_parameters_are_bounded_too() -> None:
    for path, method, doc in route_docs(app.routes):
        assert doc is not None
        for param in doc.path + doc.query + doc.header_params():  # headers are parameters too (Idempotency-Key)
            schema = param.schema
            if schema.get("type") == "integer":
                assert "minimum" in schema and "maximum" in schema, f"{method} {path} {param.name}"
            else:
                bounded = "enum" in schema or schema.get("type") == "boolean" or "maxLength" in schema
                assert bounded, f"{method} {path} {param.name}"
                pattern = schema.get("pattern")
                assert pattern is None or (pattern.startswith("^") and pattern.endswith("$")), f"{method} {path} {param.name}"


def test_no_schema_uses_python_only_regex_syntax() -> None:
    for schema_file in SCHEMA_DIR.glob("*.json"):
        text = schema_file.read_text(encoding="utf-8")
        for construct in (r"\\A", r"\\Z", "(?P<", "(?i)"):
            assert construct not in text, f"{schema_file.name}: {construct} is not ECMA-262"


def test_a_body_field_of_thousands_of_characters_is_refused_with_a_short_message() -> None:
    body = {"kind": "day_off", "reason": "x" * 10_000_000}
    with pytest.raises(ValidationError) as caught:
        validate("calendar-day.v1.json", body)
    assert len(json.dumps(caught.value.details)) + len(caught.value.message) < 2000


# --- the second audit (a reviewer's hostile probes of this issue's own fixes) -----------------------------


def test_escaped_backslashes_and_quotes_inside_strings_are_not_structure() -> None:
    assert json_depth(b'["\\\\", [1]]') == 2
    assert json_depth(b'{"a": "\\"[[[["}') == 1


def test_an_unterminated_string_of_escaped_quotes_is_counted_in_one_pass() -> None:
    """A regex over whole strings restarted at every escaped quote: minutes for a 128 KiB body (the reviewer's
    probe); the structural scan reads each character once, so this returns at once and parsing then refuses it."""
    body = b'{"a":"' + b'\\"' * 64_000
    assert json_depth(body) == 1
    assert refused(body).code == "BODY_NOT_JSON"


@pytest.mark.parametrize(
    "text",
    ["\u200b \u200b \u200b", "\u200e\u200f", "\u061c", "\u3164", "\u2800", "\u034f", "\u2062\u2063", "\U000e0041",
     "\u0301\u0301", "\u2028"],
    ids=["zero-width-and-spaces", "direction-marks", "arabic-mark", "hangul-filler", "braille-blank", "grapheme-joiner",
         "invisible-operators", "tag", "lone-combining-marks", "line-separator"],
)
def test_text_that_shows_nothing_is_blank(text: str) -> None:
    assert not is_text_line(text) and not is_text_block(text)


def test_a_line_separator_is_a_line_break_in_one_line_of_text() -> None:
    assert not is_text_line("Nguyễn\u2028Văn") and is_text_block("Nguyễn\u2028Văn")


@pytest.mark.parametrize("email", ["a@b\nBcc: x@y.z", "@", " @ ", "a@b.vn\r\n", "hoa@example", "hoa @example.vn"])
def test_an_email_is_one_address_and_nothing_else(email: str) -> None:
    schema = load_schema("submit-dossier.v1.json")["properties"]["applicant"]["properties"]["email"]
    assert describe_instance(schema, email) is not None
    assert describe_instance(schema, "hoa.nguyen+dvc@so-tu-phap.hue.gov.vn") is None


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_instant_utc_cannot_hold_is_not_an_instant(instant: str) -> None:
    assert describe_instance({"type": "string", "format": "date-time"}, instant) is not None


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "1999-12"])
def test_a_report_period_is_within_the_services_span(period: str) -> None:
    with pytest.raises(ValueError):
        months_of_period(period)


def test_a_deep_path_is_clipped_in_the_error() -> None:
    body = {}
    node = body
    for _ in range(30):
        node["k" * 60] = {}
        node = node["k" * 60]
    node["x"] = "\x00"
    error = refused(json.dumps(body).encode())
    assert len(json.dumps(error.details)) + len(error.message) < 600


def _nested(depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(depth):
        out = {"a": out}
    return out


@pytest.mark.parametrize("event", [
    [], "2026-11", None, 10**400, {"period": "2026-1\ud800"}, {"period": "２０２６-１１"}, {"period": 2026},
    {"period": "2026", "compare": ["A" * 5000]}, {"period": "2026", "compare": [[[[]]]]}, _nested(5000),
    {"period": "2026", "extra": _nested(5000)},
], ids=["list", "string", "null", "huge-int", "lone-surrogate", "fullwidth-digits", "number", "long-code",
        "nested-compare", "deep", "deep-extra"])
def test_the_rebuild_function_refuses_hostile_events_before_reading_anything(event: Any) -> None:
    """The rebuild's own Lambda is invoked directly, not through the boundary: its schema check answers the API's
    error shape, and it comes before the container (no table is read or written)."""
    from chalicelib.topology import REBUILD_FUNCTION

    answer = app.handler_map[REBUILD_FUNCTION](event, None)
    assert answer["error"]["code"] == "VALIDATION_FAILED"
    json.dumps(answer)  # serialisable as it is returned
