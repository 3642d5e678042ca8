"""The working calendar of a province: Vietnamese public holidays (the `holidays` package) plus the days the
province declares off (or declares working, for a compensatory Saturday), kept in the catalogue table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache

import holidays

from chalicelib.domain.calendar import DAY_OFF, WORKING_DAY, DeclaredDay, WorkingCalendar
from chalicelib.store.models import CatalogueModel


@cache
def public_holidays(years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=list(years)).keys())


def province_calendar(
    years: Iterable[int], declared_days_off: Iterable[date] = (), declared_working_days: Iterable[date] = ()
) -> WorkingCalendar:
    """Holidays of `years` and the year after (deadlines run past New Year) plus the province's own days."""
    span = sorted({y for year in years for y in (year, year + 1)})
    return WorkingCalendar(
        days_off=public_holidays(tuple(span)) | frozenset(declared_days_off),
        working_days_on_weekend=frozenset(declared_working_days),
    )


def _pk(province_root: str) -> str:
    return f"CALENDAR#{province_root}"


def declare(province_root: str, declared: DeclaredDay) -> None:
    CatalogueModel(
        _pk(province_root), f"DAY#{declared.day.isoformat()}",
        data={"day": declared.day.isoformat(), "kind": declared.kind, "reason": declared.reason},
    ).save()


def undeclare(province_root: str, day: date) -> None:
    CatalogueModel(_pk(province_root), f"DAY#{day.isoformat()}").delete()


def declared_days(province_root: str) -> list[DeclaredDay]:
    return [
        DeclaredDay(date.fromisoformat(item.data["day"]), item.data["kind"], item.data["reason"])
        for item in CatalogueModel.query(_pk(province_root), CatalogueModel.sk.startswith("DAY#"))
    ]


class CalendarRepository:
    """The province's calendar, rebuilt from its table at most every `ttl_s` seconds per container."""

    def __init__(self, province_root: str, ttl_s: int = 300, monotonic: Callable[[], float] = time.monotonic):
        self.province_root = province_root
        self._root, self._ttl_s, self._monotonic = province_root, ttl_s, monotonic
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
