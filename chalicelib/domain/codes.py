"""Dossier codes `{agency code}-{YYMMDD}-{NNNN}`: agency, Vietnam date of receipt, daily sequence."""

from __future__ import annotations

import re
from datetime import date

_CODE = re.compile(r"^(?P<agency>[A-Z0-9][A-Z0-9.]*)-(?P<date>\d{6})-(?P<seq>\d{4,})$")


def dossier_code(agency_code: str, business_day: date, sequence: int) -> str:
    """The code for the `sequence`-th dossier of an agency on a day; four digits, wider past 9999."""
    if sequence < 1:
        raise ValueError("sequence numbers start at 1")
    return f"{agency_code}-{business_day:%y%m%d}-{sequence:04d}"


def parse_dossier_code(code: str) -> tuple[str, date, int]:
    match = _CODE.match(code)
    if match is None:
        raise ValueError(f"not a dossier code: {code!r}")
    raw = match["date"]
    day = date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:]))
    return match["agency"], day, int(match["seq"])
