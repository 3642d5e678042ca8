"""Use cases of the paper-free days pilot: an agency's chosen days and procedures, set by administrators and read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from chalicelib.domain.directives import PaperFreeDays, plan_paper_free_days
from chalicelib.services.ports import Catalogue, PaperFreeDaysStore


def paper_free_days(agency_code: str, catalogue: Catalogue, store: PaperFreeDaysStore) -> PaperFreeDays:
    """The agency's schedule; an agency that has chosen none has no days and no procedures."""
    agency = catalogue.agency(agency_code)
    return store.for_agency(agency.code) or PaperFreeDays(agency.code, frozenset(), frozenset())


def set_paper_free_days(
    agency_code: str, days: Iterable[date], procedure_codes: Iterable[str], catalogue: Catalogue,
    store: PaperFreeDaysStore,
) -> PaperFreeDays:
    """Replace the agency's schedule: at least two full-online procedures it handles (the directive), on `days`.
    Submissions in other containers see it within their cache's ttl."""
    agency = catalogue.agency(agency_code)
    procedures = [catalogue.procedure(code) for code in dict.fromkeys(procedure_codes)]
    schedule = plan_paper_free_days(agency, days, procedures)
    store.save(schedule)
    return schedule
