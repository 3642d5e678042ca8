"""Personal data out of log lines: national ID numbers, phone numbers and email addresses masked in any text.

Applied to every log line by the logger's formatter (`chalicelib/handlers/telemetry.py`), after the line is built,
so a message, an `extra` value, an exception's text or a traceback are all covered, whoever wrote them. Two nets:
- a field whose *name* says it holds personal data (`name`, `phone`, `national_id`, ...) is replaced whatever it
  holds: a name has no pattern to find it by;
- every other string is searched for the patterns below and each match replaced by a placeholder saying what it
  was (`[email]`, `[phone]`, `[national-id]`), so a reader still knows what the line was about.

The patterns err towards masking: any 9- or 12-digit number standing alone is taken for an ID (an old CMND or a
CCCD), so a bare 9-digit amount or an AWS account id in text is masked too; amounts in `extra` are numbers, which
are never touched. A digit run glued to letters (`a994272793` inside an X-Ray trace id) or after a dash (a UUID's
last group) is not taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
NATIONAL_ID_MASK = "[national-id]"
FIELD_MASK = "[redacted]"

# Not preceded or followed by a letter, digit or underscore (`\w` is Unicode-aware: Vietnamese letters count), nor
# preceded by a dash: a UUID's last group (AWS's request and message ids) is 12 digits once in about 280.
_START, _END = r"(?<![\w+-])", r"(?!\w)"
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese numbers: a mobile is 0 + 9 digits (03x, 05x, 07x, 08x, 09x), a landline 0 + 10 digits (02xx ...);
# internationally +84 / 84 / (+84) without the 0. Single spaces, dots or dashes may group the digits.
_PHONE = re.compile(_START + r"(?:\(\+84\)|\+84|84|0)[ .-]?[1-9](?:[ .-]?\d){8,9}" + _END)
# A CCCD is 12 digits (province, century and sex, year of birth, serial), sometimes written in groups of 3;
# an old CMND 9 digits.
# What every phone number and ID number has at least: nine digits, single separators between them allowed.
_NINE_DIGITS = re.compile(r"\d(?:[ .-]?\d){8}")
_NATIONAL_ID = re.compile(_START + r"(?:\d{12}|\d{3} \d{3} \d{3} \d{3}|\d{9})" + _END)

# Fields that hold personal data by definition (as the schemas and models name them), compared case-insensitively.
PERSONAL_FIELDS = frozenset({
    "name", "full_name", "applicant_name", "recipient_name", "national_id", "id_number", "phone", "phone_number",
    "email", "address", "date_of_birth", "birth_date",
})


def mask_text(text: str) -> str:
    """`text` with every email address, phone number and national ID number replaced by a placeholder."""
    if "@" not in text and not _NINE_DIGITS.search(text):
        return text  # most strings of a log line: nothing any pattern could match, one search instead of three
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _PHONE.sub(PHONE_MASK, text)
    return _NATIONAL_ID.sub(NATIONAL_ID_MASK, text)


def mask(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of a JSON-like value with personal data masked: strings searched, personal fields replaced.
    Keys in `keep` (at the top level) are left as they are: the logger's own keys, which it builds itself."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: value[key] if key in keep else _mask_field(str(key), value[key]) for key in value}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask(item) for item in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask_text(str(value))  # anything else would be written as its text (an exception, a date): mask that


def _mask_field(key: str, value: Any) -> Any:
    if key.lower() in PERSONAL_FIELDS and value not in (None, ""):
        return FIELD_MASK
    return mask(value)
