"""The deadline watch on the local stack: warnings from the due index, once per due time."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.models import OutboxModel
from chalicelib.validation import validate
from tests.support import Api, commune, submission


def test_the_watch_warns_once_about_each_dossier_near_or_past_its_deadline(api: Api, admin_token: str) -> None:
    citizen = api.token("citizen", sub="watch-1")
    created = api.call("POST", "/v1/dossiers", submission(agency_code=commune(19), channel="direct"), token=citizen).body
    assert created["status"] == "received" and created["due_at"]

    first = api.call("POST", "/v1/admin/deadline-watch", {"within_working_days": 5}, token=admin_token)
    assert first.status == 200, first.body
    validate("deadline-watch-result.v1.json", first.body)
    assert first.body["due_soon"] + first.body["overdue"] >= 1

    again = api.call("POST", "/v1/admin/deadline-watch", {"within_working_days": 5}, token=admin_token).body
    assert again["due_soon"] == again["overdue"] == 0
    assert again["already_warned"] >= 1

    warnings = list(OutboxModel.query(f"DOSSIER#{created['id']}", OutboxModel.sk.startswith("OUTBOX#WATCH#")))
    assert len(warnings) == 1
    overdue = datetime.fromisoformat(created["due_at"]) < datetime.fromisoformat(warnings[0].occurred_at)
    assert warnings[0].event_type == ("DossierOverdue" if overdue else "DossierDueSoon")


def test_only_admins_run_the_watch_and_bodies_are_checked(api: Api, admin_token: str) -> None:
    officer = api.token("officer", agency="H46.00")
    denied = api.call("POST", "/v1/admin/deadline-watch", {}, token=officer)
    assert (denied.status, denied.body["error"]["code"]) == (403, "ROLE_NOT_ALLOWED")
    bad = api.call("POST", "/v1/admin/deadline-watch", {"within_working_days": -1}, token=admin_token)
    assert (bad.status, bad.body["error"]["code"]) == (400, "VALIDATION_FAILED")
