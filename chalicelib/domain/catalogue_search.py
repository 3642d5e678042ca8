"""Finding procedures and agencies in the catalogue: the folded search key, the filters, the page after a code."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from .catalogue import Agency, Procedure
from .vocabulary import AgencyLevel, OnlineForm

# đ/Đ are letters of their own, not d with a combining mark: NFD leaves them whole, so they are mapped by hand.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Text as a search compares it: NFD, combining marks dropped, đ→d, lower case, runs of spaces as one.
    `fold("Đăng ký KHAI SINH") == "dang ky khai sinh"`."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@dataclass(frozen=True)
class ListedProcedure:
    """A procedure as the catalogue lists it, with its name's search key, folded once when it was written."""

    procedure: Procedure
    search_key: str

    @staticmethod
    def of(procedure: Procedure) -> ListedProcedure:
        return ListedProcedure(procedure, fold(procedure.name))


@dataclass(frozen=True)
class ProcedureFilter:
    """What `GET /v1/procedures` narrows by; `None` is no narrowing. `agency` is the agency itself, looked up."""

    agency: Agency | None = None
    level: AgencyLevel | None = None
    online_form: OnlineForm | None = None
    q: str | None = None

    def admits(self, listed: ListedProcedure) -> bool:
        procedure = listed.procedure
        return (
            (self.agency is None or procedure.is_offered_at(self.agency))
            and (self.level is None or procedure.level == self.level)
            and (self.online_form is None or procedure.online_form == self.online_form)
            and (self.q is None or _has_words(self._words, listed))
        )

    @cached_property
    def _words(self) -> list[str]:
        return fold(self.q or "").split()  # folded once per request, not once per procedure


def matches(q: str, listed: ListedProcedure) -> bool:
    """By code (a part of it: `001193`) or by name: every word of the folded query is in the folded name, in any
    order, so `khai sinh dang ky` and `ĐĂNG KÝ` both find `Đăng ký khai sinh`. A blank query matches everything."""
    return _has_words(fold(q).split(), listed)


def _has_words(words: list[str], listed: ListedProcedure) -> bool:
    if not words:
        return True
    if len(words) == 1 and words[0] in listed.procedure.code.casefold():
        return True
    return all(word in listed.search_key for word in words)


def page_after(listed: Sequence[ListedProcedure], wanted: ProcedureFilter, limit: int,
               after: str | None) -> tuple[list[Procedure], str | None]:
    """Up to `limit` admitted procedures in code order after the code `after`; the last one's code if more follow."""
    found: list[Procedure] = []
    for entry in sorted(listed, key=lambda e: e.procedure.code):
        if (after is not None and entry.procedure.code <= after) or not wanted.admits(entry):
            continue
        if len(found) == limit:
            return found, found[-1].code
        found.append(entry.procedure)
    return found, None


def handled_by(procedure: Procedure, agencies: Iterable[Agency]) -> list[Agency]:
    """The agencies at which the procedure is offered, in code order."""
    return sorted((a for a in agencies if procedure.is_offered_at(a)), key=lambda a: a.code)


def parent_of(agency: Agency) -> str | None:
    """The code of the agency above it in the tree; None for the province root."""
    return agency.path[-2] if len(agency.path) > 1 else None


def children(agencies: Iterable[Agency], parent: str | None, level: AgencyLevel | None) -> list[Agency]:
    """The agencies directly under `parent` (all of them when None), of `level` when given, in code order."""
    return sorted(
        (a for a in agencies if (parent is None or parent_of(a) == parent) and (level is None or a.level == level)),
        key=lambda a: a.code,
    )
