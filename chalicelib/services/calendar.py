"""Use cases of the province's calendar: declare a day off (or a compensatory working day), withdraw it, list them."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.calendar import DeclaredDay
from chalicelib.services.ports import Calendars


def declared_days(calendars: Calendars) -> list[DeclaredDay]:
    return calendars.declared_days()


def declare_day(day: date, kind: str, reason: str, calendars: Calendars) -> list[DeclaredDay]:
    """Declare `day`; deadlines computed from now on count it (other containers within their cache's ttl)."""
    calendars.declare(DeclaredDay(day, kind, reason))
    return calendars.declared_days()


def undeclare_day(day: date, calendars: Calendars) -> list[DeclaredDay]:
    calendars.undeclare(day)
    return calendars.declared_days()
