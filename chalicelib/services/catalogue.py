"""The catalogue for the app: find procedures, read one with the agencies that handle it, walk the agency tree."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.catalogue import Agency, Procedure
from chalicelib.domain.catalogue_search import ProcedureFilter, children, handled_by, page_after
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.vocabulary import AgencyLevel, OnlineForm
from chalicelib.services.ports import Catalogue, CatalogueListings, Cursor

MAX_CODE_LENGTH = 40


@dataclass(frozen=True)
class FindProcedures:
    """`GET /v1/procedures`: every narrowing is optional; `cursor` is the previous page's."""

    agency: str | None = None
    level: str | None = None
    online_form: str | None = None
    q: str | None = None
    limit: int = 20
    cursor: Cursor | None = None


def _after(cursor: Cursor | None) -> str | None:
    """A page's cursor names the last code it held: `{"after": code}` and nothing else."""
    if cursor is None:
        return None
    after = cursor.get("after")
    if set(cursor) != {"after"} or not isinstance(after, str) or not 0 < len(after) <= MAX_CODE_LENGTH:
        raise ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")
    return after


def find_procedures(cmd: FindProcedures, catalogue: Catalogue,
                    listings: CatalogueListings) -> tuple[list[Procedure], Cursor | None]:
    """Procedures in code order, narrowed by where they are offered, level, online form and a search of code or name
    (case and diacritics aside). An unknown agency is a 404, not an empty page."""
    after = _after(cmd.cursor)
    wanted = ProcedureFilter(
        agency=catalogue.agency(cmd.agency) if cmd.agency else None,
        level=AgencyLevel(cmd.level) if cmd.level else None,
        online_form=OnlineForm(cmd.online_form) if cmd.online_form else None,
        q=cmd.q,
    )
    page, last = page_after(listings.listed_procedures(), wanted, cmd.limit, after)
    return page, ({"after": last} if last else None)


def procedure_details(code: str, catalogue: Catalogue, listings: CatalogueListings) -> tuple[Procedure, list[Agency]]:
    """A procedure and the agencies at which it may be filed."""
    procedure = catalogue.procedure(code)
    return procedure, handled_by(procedure, listings.agencies())


def agency_tree(parent: str | None, level: str | None, catalogue: Catalogue, listings: CatalogueListings) -> list[Agency]:
    """The agencies directly under `parent` (404 if there is no such agency), or all of them, of `level` if given."""
    if parent is not None:
        catalogue.agency(parent)
    return children(listings.agencies(), parent, AgencyLevel(level) if level else None)
