"""The working calendar of a province: Vietnamese public holidays and worked Saturdays (the `holidays` package) plus
the days the province declares off or working, kept in the catalogue table, and its configured office hours."""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import date, time
from functools import cache

from chalicelib.domain.calendar import (
    DAY_OFF,
    DEFAULT_SAME_DAY_CUTOFF,
    WORKING_DAY,
    DeclaredDay,
    OfficeHours,
    Season,
    WorkingCalendar,
)
from chalicelib.store.errors import storage_errors
from chalicelib.store.models import CatalogueModel


@cache
def national_calendar(years: tuple[int, ...]) -> tuple[frozenset[date], frozenset[date]]:
    """The public holidays (Tết and substituted days off included) and the Saturdays worked in exchange for a
    bridge day (`weekend_workdays`, e.g. 26 Apr 2025 for 2 May 2025) of `years`, from the `holidays` package."""
    import holidays  # here, not at the top: most cold starts never need a calendar

    national = holidays.country_holidays("VN", years=list(years))
    return frozenset(national.keys()), frozenset(national.weekend_workdays)


def public_holidays(years: tuple[int, ...]) -> frozenset[date]:
    return national_calendar(years)[0]


def province_calendar(
    years: Iterable[int],
    declared_days_off: Iterable[date] = (),
    declared_working_days: Iterable[date] = (),
    *,
    seasons: tuple[Season, ...] = (Season(1, OfficeHours()),),
    same_day_cutoff: time = DEFAULT_SAME_DAY_CUTOFF,
) -> WorkingCalendar:
    """Holidays and worked Saturdays of `years` and the year after (deadlines run past New Year), the province's
    own days on top (a day it declares wins over the national calendar), and its office hours and cut-off."""
    span = tuple(sorted({y for year in years for y in (year, year + 1)}))
    days_off, worked_saturdays = national_calendar(span)
    off, working = frozenset(declared_days_off), frozenset(declared_working_days)
    return WorkingCalendar(
        days_off=(days_off - working) | off,
        working_days_on_weekend=(worked_saturdays - off) | working,
        hours=seasons[0].hours,
        seasons=seasons,
        same_day_cutoff=same_day_cutoff,
    )


def _pk(province_root: str) -> str:
    return f"CALENDAR#{province_root}"


def declare(province_root: str, declared: DeclaredDay) -> None:
    with storage_errors():
        CatalogueModel(
            _pk(province_root), f"DAY#{declared.day.isoformat()}",
            data={"day": declared.day.isoformat(), "kind": declared.kind, "reason": declared.reason},
        ).save()


def undeclare(province_root: str, day: date) -> None:
    with storage_errors():
        CatalogueModel(_pk(province_root), f"DAY#{day.isoformat()}").delete()


def declared_days(province_root: str) -> list[DeclaredDay]:
    with storage_errors():
        return [
            DeclaredDay(date.fromisoformat(item.data["day"]), item.data["kind"], item.data["reason"])
            for item in CatalogueModel.query(_pk(province_root), CatalogueModel.sk.startswith("DAY#"))
        ]


class CalendarRepository:
    """The province's calendar, rebuilt from its table at most every `ttl_s` seconds per container."""

    def __init__(
        self,
        province_root: str,
        ttl_s: int = 300,
        monotonic: Callable[[], float] = _time.monotonic,
        *,
        seasons: tuple[Season, ...] = (Season(1, OfficeHours()),),
        same_day_cutoff: time = DEFAULT_SAME_DAY_CUTOFF,
    ):
        self.province_root = province_root
        self._root, self._ttl_s, self._monotonic = province_root, ttl_s, monotonic
        self._seasons, self._same_day_cutoff = seasons, same_day_cutoff
        self._cache: dict[int, tuple[float, WorkingCalendar]] = {}

    def for_year(self, year: int) -> WorkingCalendar:
        now = self._monotonic()
        hit = self._cache.get(year)
        if hit is not None and hit[0] > now:
            return hit[1]
        days = declared_days(self._root)
        calendar = province_calendar(
            [year],
            (d.day for d in days if d.kind == DAY_OFF),
            (d.day for d in days if d.kind == WORKING_DAY),
            seasons=self._seasons,
            same_day_cutoff=self._same_day_cutoff,
        )
        self._cache[year] = (now + self._ttl_s, calendar)
        return calendar

    def forget(self) -> None:
        self._cache.clear()

    def declared_days(self) -> list[DeclaredDay]:
        return sorted(declared_days(self._root), key=lambda d: d.day)

    def declare(self, declared: DeclaredDay) -> None:
        declare(self._root, declared)
        self.forget()  # other containers see it within their cache's ttl

    def undeclare(self, day: date) -> None:
        undeclare(self._root, day)
        self.forget()
