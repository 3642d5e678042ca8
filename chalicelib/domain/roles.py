"""The roles a token may carry, and the groups of them the access policy speaks of: the one place for role names."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    CITIZEN = "citizen"
    ORGANISATION = "organisation"  # businesses, state bodies, public-service units (organisation accounts)
    OFFICER = "officer"  # scoped to one agency by the token's `agency` claim
    ADMIN = "admin"  # provincial administrators: read everything, run admin jobs, never act on dossiers


ROLES: tuple[str, ...] = tuple(role.value for role in Role)
APPLICANTS: frozenset[str] = frozenset({Role.CITIZEN.value, Role.ORGANISATION.value})
