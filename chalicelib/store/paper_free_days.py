"""Each agency's pilot paper-free days, one item per agency in the catalogue table, cached per container."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from chalicelib.domain.directives import PaperFreeDays
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import CatalogueModel

PAPER_FREE_PREFIX = "PAPER_FREE#"
PAPER_FREE_SK = "PAPER_FREE_DAYS"


def paper_free_key(agency_code: str) -> tuple[str, str]:
    """The agency's schedule: `PAPER_FREE#{code} / PAPER_FREE_DAYS`."""
    return f"{PAPER_FREE_PREFIX}{agency_code}", PAPER_FREE_SK


def paper_free_to_data(schedule: PaperFreeDays) -> dict[str, Any]:
    return {"agency_code": schedule.agency_code, "days": sorted(day.isoformat() for day in schedule.days),
            "procedures": sorted(schedule.procedures)}


def paper_free_from_data(data: dict[str, Any]) -> PaperFreeDays:
    return PaperFreeDays(data["agency_code"], frozenset(date.fromisoformat(day) for day in data["days"]),
                         frozenset(data["procedures"]))


def paper_free_to_item(schedule: PaperFreeDays) -> CatalogueModel:
    return CatalogueModel(*paper_free_key(schedule.agency_code), data=paper_free_to_data(schedule))


class PaperFreeDaysRepository:
    """An agency's schedule is read on every paper submission: each container keeps it for `ttl_s` seconds, so the
    common case costs no round trip (a change reaches other containers within the ttl)."""

    def __init__(self, ttl_s: int = 300, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._monotonic = ttl_s, monotonic
        self._cache: dict[str, tuple[float, PaperFreeDays | None]] = {}

    def for_agency(self, agency_code: str) -> PaperFreeDays | None:
        now = self._monotonic()
        hit = self._cache.get(agency_code)
        if hit is not None and hit[0] > now:
            return hit[1]
        with storage_errors():
            try:
                schedule: PaperFreeDays | None = paper_free_from_data(CatalogueModel.get(*paper_free_key(agency_code)).data)
            except CatalogueModel.DoesNotExist:
                schedule = None
        self._cache[agency_code] = (now + self._ttl_s, schedule)
        return schedule

    def save(self, schedule: PaperFreeDays) -> None:
        with storage_errors():
            paper_free_to_item(schedule).save()
        self._cache.pop(schedule.agency_code, None)
