"""The working calendar of a province: Vietnamese public holidays (the `holidays` package) plus declared days off."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

import holidays

from chalicelib.domain.calendar import WorkingCalendar


@cache
def public_holidays(years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=list(years)).keys())


def province_calendar(years: Iterable[int], declared_days_off: Iterable[date] = ()) -> WorkingCalendar:
    """Holidays of `years` and the year after (deadlines run past New Year) plus the province's own days off."""
    span = sorted({y for year in years for y in (year, year + 1)})
    return WorkingCalendar(days_off=public_holidays(tuple(span)) | frozenset(declared_days_off))
