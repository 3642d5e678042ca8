"""The deadline watch on the local stack: warnings from the due index, once per due time."""

from __future__ import annotations

from datetime import datetime

from chalicelib.store.catalogue import CatalogueRepository
from chalicelib.store.models import OutboxModel
from chalicelib.topology import DEADLINE_WATCH_SCHEDULE
from chalicelib.validation import validate
from infra.seed import agencies
from tests.policy.recorder import invoked_as
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


def test_the_scheduled_function_runs_the_watch_over_every_agency(api: Api) -> None:
    """Invoked as EventBridge's schedule invokes it; its AWS calls are checked against its policy at the end."""
    from app import app

    scheduled = {
        "version": "0", "id": "4e7a5c1e-0000-0000-0000-000000000000", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": "2026-11-10T00:00:00Z", "region": "ap-southeast-1",
        "resources": ["arn:aws:events:ap-southeast-1:111122223333:rule/dvc-cloud-dev-deadline_watch-event"], "detail": {},
    }
    with invoked_as(DEADLINE_WATCH_SCHEDULE.function):
        result = app.handler_map[DEADLINE_WATCH_SCHEDULE.function](scheduled, None)
    validate("deadline-watch-result.v1.json", result)
    assert result["agencies"] == len(CatalogueRepository.agency_codes()) >= len(agencies(46))
