"""The access policy as tables: who may call which kind of route, read which dossier, read which agency's data."""

from __future__ import annotations

import pytest

from chalicelib.domain import access
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.errors import ForbiddenError
from chalicelib.domain.history import Actor
from chalicelib.domain.roles import ROLES, Role
from chalicelib.domain.vocabulary import AgencyLevel
from tests.unit.test_actions import ADMIN, COMMUNE, OFFICER, OFFICER_ELSEWHERE, OWNER, STRANGER, dossier

PROVINCE = Agency(code="T46", name="Tỉnh", level=AgencyLevel.PROVINCE, kind="province", path=("T46",))
PROVINCE_OFFICER = Actor(user_id="officer-9", role="officer", display_name="Sở", agency_code="T46")


def actor(role: str) -> Actor:
    return Actor(user_id=f"{role}-1", role=role, display_name=role, agency_code=COMMUNE.code)


ROUTE_POLICY = {  # policy → the roles it lets in (the rest get 403 ROLE_NOT_ALLOWED)
    "SUBMIT": {"citizen", "organisation", "officer"},
    "UPLOAD": {"citizen", "organisation", "officer"},
    "OWN_DOSSIERS": {"citizen", "organisation"},
    "AGENCY_DATA": {"officer", "admin"},
    "READ_CALENDAR": {"officer", "admin"},
    "ADMINISTER": {"admin"},
}


@pytest.mark.parametrize(("policy", "role"), [(p, r) for p in ROUTE_POLICY for r in ROLES])
def test_route_policies(policy: str, role: str) -> None:
    roles = getattr(access, policy)
    if role in ROUTE_POLICY[policy]:
        access.require_role(actor(role), roles)
        return
    with pytest.raises(ForbiddenError) as caught:
        access.require_role(actor(role), roles)
    assert caught.value.code == "ROLE_NOT_ALLOWED"
    assert set(caught.value.details["allowed_roles"]) == ROUTE_POLICY[policy]


@pytest.mark.parametrize(
    ("reader", "may"),
    [(OWNER, True), (STRANGER, False), (OFFICER, True), (PROVINCE_OFFICER, True), (OFFICER_ELSEWHERE, False),
     (ADMIN, True)],
    ids=["owner", "stranger", "holding-agency", "parent-agency", "other-agency", "admin"],
)
def test_who_may_read_a_dossier(reader: Actor, may: bool) -> None:
    assert access.may_read(reader, dossier()) is may


@pytest.mark.parametrize(
    ("reader", "agency", "code"),
    [(OFFICER, COMMUNE, None), (PROVINCE_OFFICER, COMMUNE, None), (OFFICER, PROVINCE, "AGENCY_OUT_OF_SCOPE"),
     (OFFICER_ELSEWHERE, COMMUNE, "AGENCY_OUT_OF_SCOPE"), (ADMIN, PROVINCE, None), (OWNER, COMMUNE, "ROLE_NOT_ALLOWED")],
    ids=["own", "parent", "child-reads-parent", "other", "admin", "applicant"],
)
def test_agency_scope(reader: Actor, agency: Agency, code: str | None) -> None:
    if code is None:
        access.require_agency_scope(reader, agency, ("báo cáo", "reports"))
        return
    with pytest.raises(ForbiddenError) as caught:
        access.require_agency_scope(reader, agency, ("danh sách hồ sơ", "dossiers"))
    assert caught.value.code == code
    if code == "AGENCY_OUT_OF_SCOPE":
        assert "dossiers" in caught.value.message and "reports" not in caught.value.message


def test_only_officers_and_admins_see_internal_notes() -> None:
    assert {r for r in ROLES if access.sees_internal_notes(actor(r))} == {Role.OFFICER.value, Role.ADMIN.value}
