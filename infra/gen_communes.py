"""Write `chalicelib/data/communes.json` from the `vietnam-provinces` package: province code → its commune codes."""

from __future__ import annotations

import json

from vietnam_provinces import Ward

from chalicelib.communes import DATA


def table() -> dict[str, list[str]]:
    by_province: dict[str, list[str]] = {}
    for ward in Ward.iter_all():
        by_province.setdefault(f"{int(ward.province_code):02d}", []).append(f"{int(ward.code):05d}")
    return {province: sorted(codes) for province, codes in sorted(by_province.items())}


def main() -> None:
    DATA.write_text(json.dumps(table(), separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
