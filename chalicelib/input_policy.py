"""The input policy every route inherits: strict JSON, bounded depth and numbers, the text policy, ASCII digits.

Applied once, at the boundary (`handlers/boundary.py` and `handlers/http.json_body`), before a value reaches a
schema, a hash, a log line or DynamoDB. The schemas then say what each field means; this module says what no
field may ever hold:

- JSON nested deeper than `MAX_DEPTH` (json.loads would recurse; a dossier needs 5 levels);
- an integer literal longer than `MAX_INT_DIGITS` digits, a float that is not finite, `NaN`/`Infinity`;
- a lone UTF-16 surrogate (`"\\ud800"`), which cannot be encoded, hashed or stored as UTF-8;
- control characters (C0, DEL, C1) other than tab and line breaks, and the bidirectional embedding, override and
  isolate controls (U+202A–U+202E, U+2066–U+2069) that make text display other than it reads ("Trojan Source").

Per-field text formats (`text-line`, `text-block`) add: single line or not, and not blank once whitespace and
invisible format characters (zero-width space, joiners, BOM) are trimmed.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

from chalicelib.domain.errors import ValidationError

MAX_DEPTH = 32
MAX_INT_DIGITS = 18  # every integer we accept fits; DynamoDB numbers hold 38 digits
MAX_FLOAT_CHARS = 40
MAX_IDENTIFIER_LENGTH = 128  # any id, code or subject that becomes (part of) a DynamoDB key; keys hold 1,024 bytes
CLIP = 80  # characters of client input an error message may quote

_STRUCTURAL = re.compile(rb'["\\\[\]{}]')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing although Unicode does not call them spaces: Hangul and Braille fillers.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85")
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")


def clip(text: str, limit: int = CLIP) -> str:
    """A client's value, short enough to quote in an error (never echo a 10 MB field back)."""
    return text if len(text) <= limit else text[:limit] + "…"


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw`, in one linear pass over its structural characters
    (strings and their escapes skipped), before json.loads could recurse. A regex over whole strings would
    restart at every escaped quote of an unterminated string: quadratic, minutes for a 128 KiB body."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the position a backslash inside a string escapes
    for match in _STRUCTURAL.finditer(raw):
        position = match.start()
        if position == escaped_at:
            continue
        char = raw[position]
        if in_string:
            if char == _BACKSLASH:
                escaped_at = position + 1
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSERS:
            depth -= 1
    return deepest


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise ValidationError(
            f"Số nguyên quá lớn (tối đa {MAX_INT_DIGITS} chữ số). (Integer literal too long.)", code="NUMBER_TOO_LARGE"
        )
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal) if len(literal) <= MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise ValidationError("Số thực không hợp lệ hoặc quá lớn. (Number out of range.)", code="NUMBER_TOO_LARGE")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValidationError(f"JSON không cho phép {name}. (NaN and Infinity are not JSON.)", code="BODY_NOT_JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, bounded depth, bounded numbers, no NaN/Infinity, then `check_text` on every string."""
    if json_depth(raw) > MAX_DEPTH:
        raise ValidationError(
            f"JSON lồng nhau quá sâu (tối đa {MAX_DEPTH} cấp). (JSON nested deeper than {MAX_DEPTH} levels.)",
            code="BODY_TOO_DEEP",
        )
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValidationError(
            "Nội dung yêu cầu phải là JSON hợp lệ (UTF-8). (The request body must be valid JSON.)", code="BODY_NOT_JSON"
        ) from exc
    check_text(value)
    return value


def text_problem(text: str) -> str | None:
    """Why `text` breaks the policy every string obeys, or None."""
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return "contains a lone surrogate (not Unicode text)"
        if char in _BIDI_CONTROLS:
            return f"contains the bidirectional control U+{ord(char):04X}"
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            return f"contains the control character U+{ord(char):04X}"
    return None


def check_text(value: Any) -> None:
    """Raise `ValidationError` at the first string (key or value, at any depth) that breaks the text policy."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:  # iterative: the depth is bounded already, but this never needs the Python stack anyway
        path, node = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                path = clip(path)  # 32 levels of 40-character keys would quote kilobytes of the client's input
                raise ValidationError(
                    f"Văn bản không hợp lệ tại {path}: {problem}. (Invalid text at {path}.)",
                    code="TEXT_INVALID",
                    details={"problems": [{"path": path, "problem": problem}]},
                )
        elif isinstance(node, dict):
            for key, item in node.items():
                key_path = f"{path}.{clip(key, 40)}"
                stack.append((f"{path}{{key}}", key))
                stack.append((key_path, item))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(node))


def is_blank(text: str) -> bool:
    """Shows nothing: only whitespace, format characters (zero-width spaces and joiners, direction marks, tags),
    combining marks with nothing to combine with, and fillers."""
    return all(
        char.isspace() or char in _FILLERS or unicodedata.category(char) in ("Cf", "Mn", "Me", "Zs", "Zl", "Zp")
        for char in text
    )


def is_text_line(text: str) -> bool:
    """One line of human text: the common policy, no line breaks or tabs, not blank."""
    return (text_problem(text) is None and not any(c in _ALLOWED_CONTROLS or c in _LINE_BREAKS for c in text)
            and not is_blank(text))


def is_text_block(text: str) -> bool:
    """Human text that may span lines: the common policy, not blank."""
    return text_problem(text) is None and not is_blank(text)


def ascii_int(raw: str) -> int | None:
    """The integer `raw` spells in ASCII digits only (`str.isdigit()` accepts '²' and '٣'), else None."""
    return int(raw) if _ASCII_DIGITS.fullmatch(raw) else None
