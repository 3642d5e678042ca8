"""The dossier lifecycle over HTTP: the whole life, conflicts, races, directives, history and the work queue."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.calendar import month_of
from chalicelib.validation import validate
from tests.support import Api, Reply, commune, submission, wait_for

FEE_PROCEDURE = "1.004873"  # commune, full online, 5,000 VND, 3 working days (Cấp Giấy xác nhận tình trạng hôn nhân)
FREE_PROCEDURE = "1.001193"  # commune, full online, no fee, 0 days: due at closing time of the day the clock starts
INTERNAL_PROCEDURE = "1.014978"  # province, internal, partial online, held by Văn phòng UBND tỉnh
INTERNAL_AGENCY = "H46.01"  # Văn phòng UBND tỉnh: first department (the service centre H46.00 is not numbered)


def act(api: Api, dossier: dict[str, Any], action: str, token: str, version: int | None = None, **params: Any) -> Reply:
    """Take `action` on the dossier as last seen (or at an explicit `version`)."""
    body = {"expected_version": dossier["version"] if version is None else version, **params}
    return api.call("POST", f"/v1/dossiers/{dossier['id']}/actions/{action}", body, token=token)


def ok(reply: Reply, status: int = 200) -> dict[str, Any]:
    assert reply.status == status, reply.body
    validate("dossier.v1.json", reply.body)
    return dict(reply.body)


def refused(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
    return dict(reply.body["error"].get("details") or {})


def submit(api: Api, token: str, agency: str, procedure: str = FREE_PROCEDURE, **overrides: Any) -> dict[str, Any]:
    return ok(api.call("POST", "/v1/dossiers", submission(procedure, agency, **overrides), token=token), 201)


def get(api: Api, dossier: dict[str, Any], token: str) -> Reply:
    return api.call("GET", f"/v1/dossiers/{dossier['id']}", token=token)


def history(api: Api, dossier: dict[str, Any], token: str) -> list[dict[str, Any]]:
    reply = api.call("GET", f"/v1/dossiers/{dossier['id']}/history", token=token)
    assert reply.status == 200, reply.body
    validate("history.v1.json", reply.body)
    return list(reply.body["entries"])


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_dossier_lives_its_whole_life_and_leaves_history_and_figures(api: Api, admin_token: str) -> None:
    agency = commune(30)
    citizen = api.token("citizen", sub="lc-life")
    officer = api.token("officer", sub="lc-life-officer", agency=agency)
    dossier = submit(api, citizen, agency, FEE_PROCEDURE)
    assert (dossier["status"], dossier["status_code"], dossier["version"]) == ("registered", 1, 1)
    assert dossier["received_at"] is None and dossier["fees_total"] == 5000

    steps: list[tuple[str, str, dict[str, Any], str, int]] = [
        (officer, "receive", {"note": "Đã tiếp nhận tại bộ phận một cửa"}, "received", 2),
        (officer, "start-processing", {"note": "Giao chuyên viên Trần Văn B"}, "processing", 4),
        (officer, "request-supplement", {"missing": "Bản sao CCCD của người yêu cầu"}, "supplement_requested", 5),
        (citizen, "resubmit-supplement", {"note": "Đã bổ sung"}, "processing", 4),
        (officer, "request-fees", {"amount": 5000, "reason": "Lệ phí"}, "awaiting_fees", 6),
        (officer, "confirm-fees", {}, "processing", 4),
        (officer, "approve", {"note": "Lãnh đạo đã ký"}, "processing", 4),
        (officer, "mark-result-ready", {"result_reference": "123/GXN-UBND"}, "result_ready", 9),
        (officer, "return-result", {"via": "desk"}, "result_returned", 10),
        (citizen, "rate", {"rating": "satisfied"}, "result_returned", 10),
    ]
    for token, action, params, status, code in steps:
        after = ok(act(api, dossier, action, token, **params))
        assert (after["status"], after["status_code"]) == (status, code), action
        assert after["version"] == dossier["version"] + 1, action
        if action == "receive":
            assert after["received_at"] is not None
            assert instant(after["appointment_at"]) > instant(after["received_at"])  # 3 working days later
            assert after["due_at"] == after["appointment_at"]
        if action == "approve":
            assert after["decision"] == "approved"
        if action == "mark-result-ready":
            assert after["finished_at"] is not None and after["verdict"] == "on_time"
            assert after["result_reference"] == "123/GXN-UBND"
        dossier = after
    assert dossier["returned_via"] == "desk" and dossier["rating"] == "satisfied"
    assert dossier["supplements"][0]["resubmitted_at"] is not None

    seen_by_officer = history(api, dossier, officer)
    assert [e["version"] for e in seen_by_officer] == list(range(1, len(steps) + 2))
    assert [e["action"] for e in seen_by_officer] == ["submit"] + [s[1] for s in steps]
    statuses = ["registered"] + [s[3] for s in steps]
    assert [(e["from_status"], e["to_status"]) for e in seen_by_officer] == list(zip([None, *statuses], statuses, strict=False))
    for entry, (token, *_rest) in zip(seen_by_officer[1:], steps, strict=True):
        if token == officer:
            assert entry["actor"]["role"] == "officer" and entry["actor"]["name"] and entry["actor"]["agency_code"] == agency
            assert entry["actor"]["id"] == "lc-life-officer"
    by_action = {e["action"]: e for e in seen_by_officer}
    assert by_action["start-processing"]["note"] == "Giao chuyên viên Trần Văn B"
    assert by_action["approve"]["note"] == "Lãnh đạo đã ký"

    seen_by_applicant = {e["action"]: e for e in history(api, dossier, citizen)}
    assert seen_by_applicant["start-processing"]["internal"] and seen_by_applicant["start-processing"]["note"] is None
    assert seen_by_applicant["approve"]["internal"] and seen_by_applicant["approve"]["note"] is None
    assert seen_by_applicant["receive"]["note"] == "Đã tiếp nhận tại bộ phận một cửa"  # not internal: shown
    assert seen_by_applicant["receive"]["actor"]["name"] and seen_by_applicant["receive"]["actor"]["agency_code"] == agency
    assert all("id" not in e["actor"] and "request_id" not in e for e in seen_by_applicant.values())

    period = month_of(instant(dossier["submitted_at"]))
    expected = {"received": 1, "supplement_requested": 1, "processed": 1, "returned": 1, "rated_satisfied": 1}

    def settled(report: dict[str, Any]) -> bool:
        counts = report["lifecycle"]
        return all(counts[k] >= v for k, v in expected.items()) and counts["finished_on_time"] + counts["finished_late"] >= 1

    counts = wait_for(lambda: api.kpi(agency, period, admin_token), settled, 15)["lifecycle"]
    assert {k: counts[k] for k in expected} == expected
    assert counts["finished_on_time"] + counts["finished_late"] == 1
    assert counts["finished_on_time"] == 1


def test_an_illegal_transition_names_the_status_and_what_is_allowed(api: Api) -> None:
    agency = commune(31)
    citizen = api.token("citizen", sub="lc-illegal")
    officer = api.token("officer", sub="lc-illegal-officer", agency=agency)
    dossier = submit(api, citizen, agency)
    details = refused(act(api, dossier, "return-result", officer, via="desk"), 409, "ILLEGAL_TRANSITION")
    assert details["current_status"] == "registered" and details["national_code"] == 1
    assert {a.replace("_", "-") for a in details["allowed_actions"]} == {
        "receive", "refuse-at-door", "request-supplement"  # the officer's actions only, not the applicant's withdraw
    }
    applicant = refused(act(api, dossier, "rate", citizen, rating="satisfied"), 409, "ILLEGAL_TRANSITION")
    assert applicant["allowed_actions"] == ["withdraw"]
    unchanged = ok(get(api, dossier, officer))
    assert (unchanged["status"], unchanged["version"]) == ("registered", 1)
    assert [e["action"] for e in history(api, dossier, officer)] == ["submit"]


def test_conflict_details_name_actions_as_the_api_does(api: Api) -> None:
    agency = commune(31)
    citizen = api.token("citizen", sub="lc-illegal-names")
    officer = api.token("officer", sub="lc-illegal-officer", agency=agency)
    dossier = submit(api, citizen, agency)
    details = refused(act(api, dossier, "return-result", officer, via="desk"), 409, "ILLEGAL_TRANSITION")
    assert details["action"] == "return-result"
    assert "refuse-at-door" in details["allowed_actions"]


def test_a_stale_expected_version_is_a_version_conflict(api: Api) -> None:
    agency = commune(32)
    citizen = api.token("citizen", sub="lc-stale")
    officer = api.token("officer", sub="lc-stale-officer", agency=agency)
    dossier = submit(api, citizen, agency)
    received = ok(act(api, dossier, "receive", officer))
    details = refused(act(api, received, "start-processing", officer, version=1), 409, "VERSION_CONFLICT")
    assert details["current_version"] == 2 and details["current_status"] == "received"
    assert ok(get(api, dossier, officer))["version"] == 2
    ok(act(api, received, "start-processing", officer))  # with the version just read it goes through


def race_to_receive(api: Api, dossier: dict[str, Any], officers: list[str]) -> list[Reply]:
    """Two officers send `receive` at the same instant with the version they both read."""
    barrier = threading.Barrier(len(officers))
    replies: list[Reply | None] = [None] * len(officers)

    def take(i: int) -> None:
        barrier.wait()
        replies[i] = act(api, dossier, "receive", officers[i])

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(officers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r is not None for r in replies)
    return [r for r in replies if r is not None]


def test_two_officers_racing_to_receive_one_wins_and_one_conflicts(api: Api) -> None:
    agency = commune(33)
    citizen = api.token("citizen", sub="lc-race")
    officers = [api.token("officer", sub=f"lc-race-officer-{i}", agency=agency) for i in range(2)]
    for _ in range(5):
        dossier = submit(api, citizen, agency)
        replies = race_to_receive(api, dossier, officers)
        answers = sorted((r.status, r.body.get("error", {}).get("code")) for r in replies)
        assert answers == [(200, None), (409, "VERSION_CONFLICT")], [r.body for r in replies]
        entries = history(api, dossier, officers[0])
        assert [e["action"] for e in entries] == ["submit", "receive"]
        assert ok(get(api, dossier, officers[0]))["version"] == 2


def test_a_racing_loser_is_told_the_current_version(api: Api) -> None:
    agency = commune(18)
    citizen = api.token("citizen", sub="lc-race-details")
    officers = [api.token("officer", sub=f"lc-race-details-{i}", agency=agency) for i in range(2)]
    for _ in range(20):  # most races are lost at commit; a few at the version check, which has the details
        replies = race_to_receive(api, submit(api, citizen, agency), officers)
        loser = next(r for r in replies if r.status == 409)
        assert loser.body["error"].get("details", {}).get("current_version") == 2, loser.body


def test_withdrawal_ends_the_dossier_and_reasons_are_required_to_refuse_or_stop(api: Api) -> None:
    agency = commune(34)
    citizen = api.token("citizen", sub="lc-withdraw")
    officer = api.token("officer", sub="lc-withdraw-officer", agency=agency)

    dossier = ok(act(api, submit(api, citizen, agency, FEE_PROCEDURE), "receive", officer))
    withdrawn = ok(act(api, dossier, "withdraw", citizen, reason="Không còn nhu cầu"))
    assert (withdrawn["status"], withdrawn["status_code"]) == ("withdrawn", 7)
    assert withdrawn["verdict"] == "on_time" and withdrawn["finished_at"] is not None
    assert withdrawn["allowed_actions"] == []  # the applicant can do nothing more
    for action, params in [("start-processing", {}), ("stop", {"reason": "x"}), ("request-supplement", {"missing": "x"}),
                           ("receive", {})]:
        details = refused(act(api, withdrawn, action, officer, **params), 409, "ILLEGAL_TRANSITION")
        assert details["current_status"] == "withdrawn"

    door = submit(api, citizen, agency)
    refused(act(api, door, "refuse-at-door", officer), 400, "VALIDATION_FAILED")
    refused(act(api, door, "refuse-at-door", officer, reason=""), 400, "VALIDATION_FAILED")
    not_received = ok(act(api, door, "refuse-at-door", officer, reason="Hồ sơ không thuộc thẩm quyền"))
    assert (not_received["status"], not_received["status_code"], not_received["reason"]) == (
        "not_received", 3, "Hồ sơ không thuộc thẩm quyền")
    assert not_received["verdict"] is None  # issue 8: never received, so never judged

    processing = ok(act(api, ok(act(api, submit(api, citizen, agency), "receive", officer)), "start-processing", officer))
    refused(act(api, processing, "stop", officer), 400, "VALIDATION_FAILED")
    stopped = ok(act(api, processing, "stop", officer, reason="Người yêu cầu không đủ điều kiện"))
    assert (stopped["status"], stopped["status_code"]) == ("stopped", 8)
    assert stopped["verdict"] is not None and stopped["finished_at"] is not None


def test_a_transfer_moves_the_dossier_to_another_agency_with_its_deadline(api: Api) -> None:
    first, second = commune(35), commune(36)
    citizen = api.token("citizen", sub="lc-transfer")
    officer_a = api.token("officer", sub="lc-transfer-a", agency=first)
    officer_b = api.token("officer", sub="lc-transfer-b", agency=second)
    dossier = submit(api, citizen, first, FEE_PROCEDURE)
    dossier = ok(act(api, ok(act(api, dossier, "receive", officer_a)), "start-processing", officer_a))

    refused(act(api, dossier, "transfer", officer_a, to_agency=first), 422, "TRANSFER_TO_SELF")
    moved = ok(act(api, dossier, "transfer", officer_a, to_agency=second, note="Chuyển liên thông"))
    assert moved["agency_code"] == second and moved["status"] == "processing"
    assert moved["code"] == dossier["code"]
    assert (moved["appointment_at"], moved["due_at"]) == (dossier["appointment_at"], dossier["due_at"])

    details = refused(act(api, moved, "approve", officer_a), 403, "AGENCY_OUT_OF_SCOPE")
    assert details["holder_agency"] == second
    assert get(api, moved, officer_a).status == 404  # no longer theirs to read either
    approved = ok(act(api, moved, "approve", officer_b))
    assert approved["decision"] == "approved" and approved["agency_code"] == second

    entry = history(api, dossier, officer_b)[-2]
    assert (entry["action"], entry["note"], entry["internal"]) == ("transfer", "Chuyển liên thông", True)
    assert entry["actor"]["agency_code"] == first
    assert history(api, dossier, citizen)[-2]["note"] is None  # the transfer note is internal


def test_state_bodies_must_file_internal_procedures_online(api: Api) -> None:
    body_token = api.token("organisation", sub="lc-state-body")
    state_body = {"kind": "state_body", "name": "Sở Nội vụ tỉnh", "national_id": "046190000555", "phone": "0234382222"}
    for agency in (INTERNAL_AGENCY, "H46.00"):  # the department that holds it, and the service centre
        for channel in ("direct", "postal"):
            reply = api.call("POST", "/v1/dossiers", submission(INTERNAL_PROCEDURE, agency, channel, applicant=state_body),
                             token=body_token)
            refused(reply, 422, "INTERNAL_DOSSIER_MUST_BE_ONLINE")
        online = submit(api, body_token, agency, INTERNAL_PROCEDURE, applicant=state_body)
        assert (online["status"], online["agency_code"], online["applicant"]["kind"]) == ("registered", agency, "state_body")
    desk_officer = api.token("officer", sub="lc-state-body-desk", agency="H46.00")  # the desk refuses paper too
    reply = api.call("POST", "/v1/dossiers", submission(INTERNAL_PROCEDURE, "H46.00", "direct", applicant=state_body),
                     token=desk_officer)
    refused(reply, 422, "INTERNAL_DOSSIER_MUST_BE_ONLINE")
    citizen = api.token("citizen", sub="lc-not-a-state-body")  # and only state bodies may file it at all
    refused(api.call("POST", "/v1/dossiers", submission(INTERNAL_PROCEDURE, INTERNAL_AGENCY), token=citizen),
            422, "INTERNAL_PROCEDURE")


def test_internal_filers_file_online_any_procedure_offered_online_and_get_the_result_online(
    api: Api, admin_token: str
) -> None:
    unit = api.token("organisation", sub="lc-public-service-unit")
    applicant = {"kind": "public_service_unit", "name": "Trường THCS Phú Lộc", "national_id": "046190000556",
                 "phone": "0234382223"}
    agency = commune(14)
    for channel in ("direct", "postal"):  # a partial-online procedure not flagged internal: still online only
        reply = api.call("POST", "/v1/dossiers", submission("1.000894", agency, channel, applicant=applicant), token=unit)
        refused(reply, 422, "INTERNAL_DOSSIER_MUST_BE_ONLINE")
    reply = api.call("POST", "/v1/dossiers", submission("1.000894", agency, applicant=applicant, result_delivery="desk"),
                     token=unit)
    refused(reply, 422, "INTERNAL_RESULT_MUST_BE_ONLINE")
    filed = submit(api, unit, agency, "1.000894", applicant=applicant)
    assert (filed["status"], filed["applicant"]["kind"]) == ("registered", "public_service_unit")
    period = month_of(datetime.fromisoformat(filed["submitted_at"]))  # the report counts it as an internal dossier
    report = wait_for(lambda: api.kpi(agency, period, admin_token), lambda r: r["filed"]["total"] >= 1)
    assert report["filed"]["internal_by_channel"]["online"] == 1
    assert report["internal_online_share"] == {"numerator": 1, "denominator": 1, "percent": 100.0}


def _result_ready(api: Api, citizen: str, officer: str, agency: str, procedure: str) -> dict[str, Any]:
    dossier = submit(api, citizen, agency, procedure, result_delivery="post")
    for action, params in [("receive", {}), ("start-processing", {}), ("approve", {}),
                           ("mark-result-ready", {"result_reference": "GXN-01"})]:
        dossier = ok(act(api, dossier, action, officer, **params))
    return dossier


def test_a_full_online_result_goes_by_post_only_when_paid_online(api: Api) -> None:
    agency = commune(37)
    citizen = api.token("citizen", sub="lc-postal")
    officer = api.token("officer", sub="lc-postal-officer", agency=agency)
    unpaid = _result_ready(api, citizen, officer, agency, FEE_PROCEDURE)
    assert (unpaid["online_form"], unpaid["fees_total"]) == ("full", 5000)
    refused(act(api, unpaid, "return-result", officer, via="post"), 422, "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT")
    assert ok(get(api, unpaid, officer))["version"] == unpaid["version"]  # the refusal changed nothing
    returned = ok(act(api, unpaid, "return-result", officer, via="desk"))
    assert (returned["status"], returned["returned_via"]) == ("result_returned", "desk")

    free = _result_ready(api, citizen, officer, agency, FREE_PROCEDURE)  # nothing to pay: post is fine
    assert ok(act(api, free, "return-result", officer, via="post"))["returned_via"] == "post"


def test_an_apology_before_the_due_date_keeps_the_original_appointment(api: Api) -> None:
    """Issue 8: an apology may come before the due date; its new appointment sits beside the original one."""
    agency = commune(38)
    citizen = api.token("citizen", sub="lc-apology")
    officer = api.token("officer", sub="lc-apology-officer", agency=agency)
    received = ok(act(api, submit(api, citizen, agency, FEE_PROCEDURE), "receive", officer))
    assert received["owes_apology"] is False
    assert instant(received["due_at"]) > datetime.now(UTC)
    apologised = ok(act(api, received, "apologise", officer, new_appointment_date="2030-01-03"))
    assert apologised["apologies"] == 1
    assert apologised["appointment_at"] == received["appointment_at"]
    assert apologised["new_appointment_date"] == "2030-01-03"
    assert apologised["due_at"] == apologised["new_appointment_at"]


def test_the_work_queue_pages_narrows_and_is_scoped_to_the_agency(api: Api, admin_token: str) -> None:
    agency = commune(39)
    citizen = api.token("citizen", sub="lc-queue")
    officer = api.token("officer", sub="lc-queue-officer", agency=agency)
    dossiers = [submit(api, citizen, agency) for _ in range(5)]
    received = ok(act(api, dossiers[3], "receive", officer))
    processing = ok(act(api, ok(act(api, dossiers[4], "receive", officer)), "start-processing", officer))
    queue = f"/v1/agencies/{agency}/dossiers"

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = api.call("GET", f"{queue}?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=officer)
        assert page.status == 200, page.body
        validate("dossier-page.v1.json", page.body)
        assert len(page.body["items"]) <= 2
        seen += [d["id"] for d in page.body["items"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert seen == [d["id"] for d in reversed(dossiers)]  # newest first, each once

    narrowed = api.call("GET", f"{queue}?status=processing", token=officer).body["items"]
    assert [d["id"] for d in narrowed] == [processing["id"]]
    assert [d["id"] for d in api.call("GET", f"{queue}?status=received", token=officer).body["items"]] == [received["id"]]

    # the 0-day procedure is due at closing time of the day its clock starts: overdue or not depends on now
    open_ones = {d["id"]: instant(d["due_at"]) for d in (received, processing)}
    overdue = api.call("GET", f"{queue}?overdue=true", token=officer)
    now = datetime.now(UTC)
    assert overdue.status == 200, overdue.body
    assert {d["id"] for d in overdue.body["items"]} == {i for i, due in open_ones.items() if due < now}
    assert all(instant(d["due_at"]) < now for d in overdue.body["items"])
    soon = api.call("GET", f"{queue}?due_before=2999-01-01T00:00:00Z", token=officer).body["items"]
    assert sorted(d["id"] for d in soon) == sorted(open_ones)
    assert [instant(d["due_at"]) for d in soon] == sorted(open_ones.values())  # most urgent first

    refused(api.call("GET", queue, token=citizen), 403, "ROLE_NOT_ALLOWED")
    stranger = api.token("officer", sub="lc-queue-stranger", agency=commune(19))
    refused(api.call("GET", queue, token=stranger), 403, "AGENCY_OUT_OF_SCOPE")
    province = api.token("officer", sub="lc-queue-province", agency="H46")
    from_above = api.call("GET", queue, token=province)
    assert from_above.status == 200 and [d["id"] for d in from_above.body["items"]] == [d["id"] for d in reversed(dossiers)]
    assert api.call("GET", queue, token=admin_token).status == 200
