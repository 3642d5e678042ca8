"""Submission against DynamoDB Local: one transaction, idempotency keys, errors, concurrency, pagination."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from chalicelib.domain.calendar import month_of
from chalicelib.domain.codes import parse_dossier_code
from chalicelib.store.models import DossierModel
from chalicelib.store.sequences import MAX_BLOCK
from infra.local.stack import LocalStack
from tests.support import Api, commune, submission, wait_for


def test_dossier_history_and_event_are_written_together(api: Api, stack: LocalStack) -> None:
    token = api.token("citizen", sub="tx-1")
    created = api.call("POST", "/v1/dossiers", submission(agency_code=commune(2)), token=token).body
    items = list(DossierModel.query(f"DOSSIER#{created['id']}"))  # every item in the dossier's partition
    kinds = sorted(item.sk.split("#")[0] for item in items)
    assert kinds == ["DOSSIER", "HISTORY", "OUTBOX"]
    raw = stack.client("dynamodb").query(
        TableName="dvc-local-dossiers",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :outbox)",
        ExpressionAttributeValues={":pk": {"S": f"DOSSIER#{created['id']}"}, ":outbox": {"S": "OUTBOX#"}},
    )["Items"][0]
    detail = json.loads(raw["detail"]["S"])
    assert detail["event_type"] == "DossierSubmitted"
    assert detail["dossier_code"] == created["code"]
    assert "Nguyễn" not in raw["detail"]["S"] and "046190000123" not in raw["detail"]["S"]  # no personal data


def test_idempotency_key_replays_the_same_response_and_refuses_another_body(api: Api) -> None:
    token = api.token("citizen", sub="idem-1")
    body = submission(agency_code=commune(3))
    first = api.call("POST", "/v1/dossiers", body, token=token, headers={"Idempotency-Key": "abc-1"})
    again = api.call("POST", "/v1/dossiers", body, token=token, headers={"Idempotency-Key": "abc-1"})
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"

    other = api.call("POST", "/v1/dossiers", {**body, "channel": "online_assisted"}, token=token,
                     headers={"Idempotency-Key": "abc-1"})
    assert other.status == 422
    assert other.body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    # the key is the caller's own: another applicant may use the same string
    stranger = api.token("citizen", sub="idem-2")
    theirs = api.call("POST", "/v1/dossiers", body, token=stranger, headers={"Idempotency-Key": "abc-1"})
    assert theirs.status == 201 and theirs.body["id"] != first.body["id"]


def test_concurrent_retries_with_one_key_create_one_dossier(api: Api) -> None:
    token = api.token("citizen", sub="idem-race")
    body = submission(agency_code=commune(4))
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(
            lambda _: api.call("POST", "/v1/dossiers", body, token=token, headers={"Idempotency-Key": "race"}),
            range(8),
        ))
    assert {r.status for r in replies} == {201}
    assert len({r.body["id"] for r in replies}) == 1


def test_sequential_submissions_at_one_agency_are_numbered_densely_and_a_replay_takes_no_number(api: Api) -> None:
    """An ordinary day at a commune: 0001, 0002, 0003 (a number is used only by a committed dossier), and a retry
    with a used Idempotency-Key answers as before without taking one."""
    token = api.token("citizen", sub="dense-1")
    body = submission(agency_code=commune(7))
    first = api.call("POST", "/v1/dossiers", body, token=token, headers={"Idempotency-Key": "dense-a"})
    replay = api.call("POST", "/v1/dossiers", body, token=token, headers={"Idempotency-Key": "dense-a"})
    later = [api.call("POST", "/v1/dossiers", body, token=token) for _ in range(2)]
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.body == first.body
    assert [r.body["code"].rsplit("-", 1)[1] for r in (first, *later)] == ["0001", "0002", "0003"]


def test_200_concurrent_submissions_get_200_distinct_codes_with_bounded_gaps(api: Api, admin_token: str) -> None:
    """16 at once at one commune, from the one served container: its threads' guesses lose to each other, so it
    reserves blocks (`store.sequences`); the numbers it did not use are the block it still holds, fewer than
    MAX_BLOCK a day (or two, if the run crosses midnight)."""
    agency = commune(5)
    tokens = [api.token("citizen", sub=f"crowd-{i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(
            lambda i: api.call("POST", "/v1/dossiers", submission(agency_code=agency), token=tokens[i % 20]),
            range(200),
        ))
    assert [r.status for r in replies] == [201] * 200
    codes = [r.body["code"] for r in replies]
    assert len(set(codes)) == 200
    by_day: dict[object, list[int]] = {}
    for code in codes:
        _, day, sequence = parse_dossier_code(code)
        by_day.setdefault(day, []).append(sequence)
    unused = sum(max(sequences) - len(sequences) for sequences in by_day.values())
    assert 0 <= unused < MAX_BLOCK * len(by_day)

    periods = {month_of(datetime.fromisoformat(r.body["submitted_at"])) for r in replies}
    total = 0
    for period in periods:
        report = wait_for(lambda p=period: api.kpi(agency, p, admin_token), lambda r: r["filed"]["total"] >= 200, 60)
        total += report["filed"]["total"]
    assert total == 200


def test_applicants_page_through_their_own_dossiers_newest_first(api: Api) -> None:
    token = api.token("citizen", sub="pager")
    ids = [api.call("POST", "/v1/dossiers", submission(agency_code=commune(6)), token=token).body["id"]
           for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = "/v1/dossiers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=token).body
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    forged = api.call("GET", "/v1/dossiers?cursor=eyJub3QiOiJ5b3VycyJ9", token=token)
    assert forged.status == 400 and forged.body["error"]["code"] == "CURSOR_INVALID"


def test_bad_input_gets_a_clear_error_never_a_500(api: Api) -> None:
    token = api.token("citizen", sub="bad-input")
    cases = [
        (api.call("POST", "/v1/dossiers", raw=b"{not json", token=token), 400, "BODY_NOT_JSON"),
        (api.call("POST", "/v1/dossiers", raw="xin chào".encode("utf-16"), token=token), 400, "BODY_NOT_JSON"),
        (api.call("POST", "/v1/dossiers", [], token=token), 400, "VALIDATION_FAILED"),
        (api.call("POST", "/v1/dossiers", submission(channel="fax"), token=token), 400, "VALIDATION_FAILED"),
        (api.call("POST", "/v1/dossiers", submission(applicant={"kind": "citizen", "name": "A",
                  "national_id": "123", "phone": "0912345678"}), token=token), 400, "VALIDATION_FAILED"),
        (api.call("POST", "/v1/dossiers", submission(procedure_code="1.001193", agency_code="H46.99"), token=token),
         404, "AGENCY_NOT_FOUND"),
        (api.call("POST", "/v1/dossiers", {**submission(), "procedure_code": "9.999999"}, token=token),
         404, "PROCEDURE_NOT_FOUND"),
        (api.call("POST", "/v1/dossiers", submission(agency_code="H46.01"), token=token), 422,
         "PROCEDURE_NOT_AT_AGENCY"),
        (api.call("POST", "/v1/dossiers", {**submission(), "documents": []}, token=token), 422, "MISSING_DOCUMENTS"),
        (api.call("POST", "/v1/dossiers", submission(), token="not-a-jwt"), 401, "TOKEN_INVALID"),
        (api.call("POST", "/v1/dossiers", submission(), token=api.token("admin")), 403, "ROLE_NOT_ALLOWED"),
        (api.call("GET", "/v1/reports/kpi?period=2026-13&agency=H46", token=api.token("admin")), 400,
         "PERIOD_INVALID"),
        (api.call("GET", "/v1/reports/kpi?period=2026-11&agency=H46", token=token), 403, "ROLE_NOT_ALLOWED"),
        (api.call("GET", "/v1/reports/kpi?period=2026-11&agency=H46", token=api.token("officer", agency="H46.01")),
         403, "AGENCY_OUT_OF_SCOPE"),
        (api.call("GET", "/v1/dossiers?limit=0", token=token), 400, "QUERY_INVALID"),
    ]
    for reply, status, code in cases:
        assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
        assert reply.body["error"]["message"]
