"""The country's communes and provinces, to check an address: a compact table generated from `vietnam-provinces`
(`python -m infra.gen_communes` writes `chalicelib/data/communes.json`; a unit test fails if it drifts from the
package). The package stays out of the Lambda bundle: the API needs only which commune codes each province has."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "communes.json"


@cache
def communes_by_province() -> dict[str, frozenset[str]]:
    """Province code (2 digits) → its commune codes (5 digits), read once per container."""
    table: dict[str, list[str]] = json.loads(DATA.read_text(encoding="utf-8"))
    return {province: frozenset(codes) for province, codes in table.items()}


def is_commune_of(province_code: str, commune_code: str) -> bool:
    return commune_code in communes_by_province().get(province_code, frozenset())
