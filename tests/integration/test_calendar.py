"""The province's declared days off move appointments; public holidays come from the `holidays` package."""

from __future__ import annotations

from datetime import datetime

from chalicelib.bootstrap import container
from chalicelib.domain.calendar import VN_TZ
from tests.support import Api, commune, submission


def test_a_declared_day_off_pushes_the_appointment_and_can_be_withdrawn(api: Api, admin_token: str) -> None:
    citizen = api.token("citizen", sub="calendar-1")
    body = submission(procedure_code="1.004873", agency_code=commune(18), channel="direct")  # 3 working days
    before = api.call("POST", "/v1/dossiers", body, token=citizen).body
    appointment = datetime.fromisoformat(before["appointment_at"]).astimezone(VN_TZ)
    calendar = container().calendar_for(appointment.year)
    received = datetime.fromisoformat(before["received_at"])
    start_day = calendar.clock_start(received).astimezone(VN_TZ).date()
    day = calendar.next_working_day(start_day)  # a working day strictly inside the processing time

    declared = api.call("PUT", f"/v1/admin/calendar/{day.isoformat()}", {"kind": "day_off", "reason": "Nghỉ bù"},
                        token=admin_token)
    try:
        assert declared.status == 200, declared.body
        assert {"day": day.isoformat(), "kind": "day_off", "reason": "Nghỉ bù"} in declared.body["days"]
        after = api.call("POST", "/v1/dossiers", body, token=citizen).body
        moved = datetime.fromisoformat(after["appointment_at"]).astimezone(VN_TZ)
        with_day_off = container().calendar_for(appointment.year)
        assert not with_day_off.is_working_day(day)
        if with_day_off.clock_start(datetime.fromisoformat(after["received_at"])).date() == start_day:
            # the same clock start: the appointment moves by exactly one working day
            assert moved.date() == with_day_off.next_working_day(appointment.date())
    finally:
        withdrawn = api.call("DELETE", f"/v1/admin/calendar/{day.isoformat()}", token=admin_token)
    assert withdrawn.status == 200
    assert all(d["day"] != day.isoformat() for d in withdrawn.body["days"])


def test_only_admins_declare_days_and_bad_days_are_refused(api: Api, admin_token: str) -> None:
    officer = api.token("officer", agency="H46.00")
    assert api.call("PUT", "/v1/admin/calendar/2026-12-31", {"kind": "day_off", "reason": "x"}, token=officer).status == 403
    bad = api.call("PUT", "/v1/admin/calendar/31-12-2026", {"kind": "day_off", "reason": "x"}, token=admin_token)
    assert (bad.status, bad.body["error"]["code"]) == (400, "DAY_INVALID")
    assert api.call("GET", "/v1/admin/calendar", token=officer).status == 200
