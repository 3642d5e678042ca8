"""Who may take which lifecycle action, and who may read a dossier: role × action × ownership, table-driven.

Denied cells are sent to one registered dossier with its current version: authorisation comes before the
version and transition checks, so every denial is a 403 even where the action would be illegal, and changes
nothing. Allowed cells are sent with a stale version, so they prove they got past authorisation (409
VERSION_CONFLICT) without changing anything either; one representative action per kind then succeeds on fresh
dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import Api, commune, submission

HOLDER = commune(12)
OTHER_AGENCY = commune(13)
OWNER_SUB = "am-owner"

ROLES: dict[str, tuple[str, str | None, str | None]] = {  # name: (role, sub, agency)
    "citizen-owner": ("citizen", OWNER_SUB, None),
    "citizen-other": ("citizen", "am-other-citizen", None),
    "organisation-other": ("organisation", "am-other-organisation", None),
    "officer-of-holder": ("officer", "am-holder-officer", HOLDER),
    "officer-of-other-agency": ("officer", "am-other-officer", OTHER_AGENCY),
    "admin": ("admin", "am-admin", None),
}

OFFICER_ACTIONS: dict[str, dict[str, Any]] = {  # a body each action's schema accepts
    "receive": {},
    "refuse-at-door": {"reason": "Không thuộc thẩm quyền"},
    "request-supplement": {"missing": "Bản sao CCCD"},
    "start-processing": {},
    "transfer": {"to_agency": OTHER_AGENCY},
    "request-fees": {},
    "confirm-fees": {},
    "approve": {},
    "refuse": {"reason": "Không đủ điều kiện cấp phép"},
    "stop": {"reason": "Không đủ điều kiện"},
    "mark-result-ready": {"result_reference": "01/GKS"},
    "return-result": {"via": "desk"},
    "apologise": {"new_appointment_date": "2030-01-03"},
}
APPLICANT_ACTIONS: dict[str, dict[str, Any]] = {
    "withdraw": {"reason": "Không còn nhu cầu"},
    "resubmit-supplement": {},
    "rate": {"rating": "satisfied"},
}


def expected_denial(role: str, action: str) -> str | None:
    """The 403 code for this cell, or None where the caller may take the action."""
    if action in APPLICANT_ACTIONS:
        if role == "citizen-owner":
            return None
        return "NOT_DOSSIER_OWNER" if role in ("citizen-other", "organisation-other") else "APPLICANT_ACTION"
    if role == "officer-of-holder":
        return None
    return "AGENCY_OUT_OF_SCOPE" if role == "officer-of-other-agency" else "OFFICER_ACTION"


CELLS = [(role, action) for role in ROLES for action in [*OFFICER_ACTIONS, *APPLICANT_ACTIONS]]


@dataclass
class World:
    api: Api
    tokens: dict[str, str]
    dossier: dict[str, Any]  # registered, owned by citizen-owner, held by HOLDER

    def act(self, role: str, dossier: dict[str, Any], action: str, version: int | None = None) -> Any:
        params = {**OFFICER_ACTIONS, **APPLICANT_ACTIONS}[action]
        body = {"expected_version": dossier["version"] if version is None else version, **params}
        return self.api.call("POST", f"/v1/dossiers/{dossier['id']}/actions/{action}", body, token=self.tokens[role])

    def submit(self) -> dict[str, Any]:
        reply = self.api.call("POST", "/v1/dossiers", submission(agency_code=HOLDER), token=self.tokens["citizen-owner"])
        assert reply.status == 201, reply.body
        return dict(reply.body)


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    tokens = {name: api.token(role, sub=sub, agency=agency) for name, (role, sub, agency) in ROLES.items()}
    world = World(api, tokens, {})
    world.dossier = world.submit()
    return world


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{r}-{a}" for r, a in CELLS])
def test_action_matrix(world: World, role: str, action: str) -> None:
    denial = expected_denial(role, action)
    if denial is not None:
        reply = world.act(role, world.dossier, action)
        assert (reply.status, reply.body["error"]["code"]) == (403, denial), reply.body
    else:
        reply = world.act(role, world.dossier, action, version=world.dossier["version"] + 100)
        assert (reply.status, reply.body["error"]["code"]) == (409, "VERSION_CONFLICT"), reply.body


def test_denied_and_stale_requests_changed_nothing(world: World) -> None:
    reply = world.api.call("GET", f"/v1/dossiers/{world.dossier['id']}", token=world.tokens["officer-of-holder"])
    assert (reply.body["status"], reply.body["version"]) == ("registered", 1)
    history = world.api.call("GET", f"/v1/dossiers/{world.dossier['id']}/history", token=world.tokens["admin"]).body
    assert [e["action"] for e in history["entries"]] == ["submit"]


def test_the_officer_of_the_holder_may_act(world: World) -> None:
    reply = world.act("officer-of-holder", world.submit(), "receive")
    assert (reply.status, reply.body["status"]) == (200, "received"), reply.body


def test_the_owner_may_act(world: World) -> None:
    reply = world.act("citizen-owner", world.submit(), "withdraw")
    assert (reply.status, reply.body["status"]) == (200, "withdrawn"), reply.body


READERS = {
    "citizen-owner": 200,
    "citizen-other": 404,
    "organisation-other": 404,
    "officer-of-holder": 200,
    "officer-of-other-agency": 404,
    "admin": 200,
}


@pytest.mark.parametrize(("role", "status"), READERS.items(), ids=list(READERS))
def test_who_may_read_a_dossier_and_its_history(world: World, role: str, status: int) -> None:
    for path in (f"/v1/dossiers/{world.dossier['id']}", f"/v1/dossiers/{world.dossier['id']}/history"):
        reply = world.api.call("GET", path, token=world.tokens[role])
        assert reply.status == status, (path, reply.body)
        if status == 404:
            assert reply.body["error"]["code"] == "DOSSIER_NOT_FOUND"  # the same answer as for an unknown id
