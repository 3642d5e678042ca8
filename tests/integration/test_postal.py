"""The postal service on the local stack (issue 11's "Done when"): callbacks signed by the `standardwebhooks` package
are applied exactly once; forged, stale and unknown-partner callbacks are refused and change nothing; a shuffled and
duplicated stream of callbacks for 100 dossiers ends with every dossier and shipment right; the report shows the
postal figures. Shipments are asked for by the postal consumer from the local partner simulator."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.domain.calendar import business_date
from chalicelib.integrations.postal_config import LOCAL_WEBHOOK_SECRETS
from infra.local.postal_sandbox import Scenario
from infra.local.stack import LocalStack
from tests.support import Api, Reply, commune, submission, wait_for

SECRET = LOCAL_WEBHOOK_SECRETS["vnpost"][0]
PARTIAL_POSTAL = "1.004884"  # partial online, results may go by post, 2 documents


def address(agency: str, **changes: str) -> dict[str, str]:
    """An address in the agency's own commune (its code is in the agency's: `H46.C{ward}`)."""
    return {"street": "12 Lê Lợi", "commune_code": agency.split(".C")[1], "province_code": "46",
            "recipient_name": "Nguyễn Thị Hoà", "phone": "0912345678", **changes}


def sign(body: str, *, webhook_id: str | None = None, at: datetime | None = None,
         secret: str = SECRET) -> dict[str, str]:
    message_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    when = at or datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, when, body)}


def callback_body(shipment: dict[str, Any], kind: str, occurred: datetime) -> str:
    at = occurred.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": f"shipment.{kind}", "timestamp": at,
                       "data": {"shipment_id": shipment["shipment_id"], "waybill": shipment["waybill"],
                                "occurred_at": at}})


def post(api: Api, body: str, headers: dict[str, str], partner: str = "vnpost") -> Reply:
    return api.call("POST", f"/v1/partners/{partner}/postal-events", raw=body.encode(), headers=headers)


def file_postal(api: Api, token: str, agency: str, **fields: Any) -> str:
    body = submission(PARTIAL_POSTAL, agency, channel="postal", result_delivery="post", **fields)
    reply = api.call("POST", "/v1/dossiers", body, token=token)
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def with_shipments(api: Api, token: str, dossier_id: str, count: int = 1, timeout_s: float = 15) -> dict[str, Any]:
    dossier = wait_for(lambda: api.call("GET", f"/v1/dossiers/{dossier_id}", token=token).body,
                       lambda d: len(d["shipments"]) >= count, timeout_s)
    assert len(dossier["shipments"]) >= count, dossier
    return dict(dossier)


@pytest.fixture(scope="module")
def citizen(api: Api) -> str:
    return api.token("citizen", sub="postal-citizen")


@pytest.fixture
def auto_partner(stack: LocalStack) -> Iterator[None]:
    assert stack.postal is not None
    stack.postal.scenario = Scenario(auto=True, step_s=0.3, repeat=2, reorder=True, fail_first=True)
    try:
        yield
    finally:
        stack.postal.scenario = Scenario(auto=False)


def test_a_postal_filing_is_picked_up_and_received_at_the_delivery_time_once(api: Api, citizen: str,
                                                                             admin_token: str) -> None:
    agency = commune(9)
    dossier_id = file_postal(api, citizen, agency, pickup_address=address(agency))
    dossier = with_shipments(api, citizen, dossier_id)
    assert (dossier["status"], dossier["received_at"]) == ("registered", None)  # waiting for its pickup
    (shipment,) = dossier["shipments"]
    assert (shipment["kind"], shipment["status"]) == ("pickup", "requested")
    assert shipment["expected_by"] > business_date(datetime.now(UTC)).isoformat()  # J+1, same commune

    delivered_at = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
    body = callback_body(shipment, "delivered", delivered_at)
    headers = sign(body)
    first = post(api, body, headers)
    assert (first.status, first.body) == (200, {"result": "applied", "code": "SHIPMENT_ADVANCED"})
    after = api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body
    assert after["status"] == "received" and after["channel_code"] == 3
    assert datetime.fromisoformat(after["received_at"]) == delivered_at  # the clock starts at the delivery
    assert after["shipments"][0]["status"] == "delivered"

    again = post(api, body, headers)  # the partner's retry: the same webhook-id
    assert (again.status, again.body["result"]) == (200, "duplicate")
    assert api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body["version"] == after["version"]

    history = api.call("GET", f"/v1/dossiers/{dossier_id}/history", token=admin_token).body["entries"]
    assert [e["action"] for e in history].count("postal-delivered") == 1


def test_forged_stale_and_unknown_partner_callbacks_are_refused_and_change_nothing(api: Api, citizen: str) -> None:
    agency = commune(9)
    dossier_id = file_postal(api, citizen, agency, pickup_address=address(agency))
    shipment = with_shipments(api, citizen, dossier_id)["shipments"][0]
    version = api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body["version"]
    body = callback_body(shipment, "picked_up", datetime.now(UTC) - timedelta(minutes=1))
    message_id = f"msg_{uuid.uuid4().hex}"
    forged = sign(body, webhook_id=message_id, secret="whsec_" + "Zm9yZ2VkLXNlY3JldC1ub3Qtb3Vycw==")
    stale = sign(body, webhook_id=message_id, at=datetime.now(UTC) - timedelta(minutes=6))
    tampered = {**sign(body, webhook_id=message_id)}
    refused = [
        post(api, body, forged),
        post(api, body, stale),
        post(api, body.replace("picked_up", "delivered"), tampered),  # the body changed after signing
        post(api, body, sign(body, webhook_id=message_id), partner="ghtk"),  # no such partner
        post(api, body, {}),  # unsigned
        post(api, body, {**sign(body, webhook_id=message_id), "webhook-signature": "v1"}),  # malformed
    ]
    assert [(r.status, r.body["error"]["code"]) for r in refused] == [(401, "WEBHOOK_SIGNATURE_INVALID")] * 6
    assert api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body["version"] == version
    # nothing was stored under that webhook-id: the genuine callback is applied, not taken for a duplicate
    genuine = post(api, body, sign(body, webhook_id=message_id))
    assert genuine.body == {"result": "applied", "code": "SHIPMENT_ADVANCED"}


def test_a_signed_body_outside_its_schema_is_400_and_an_unknown_shipment_is_kept(api: Api,
                                                                                   admin_token: str) -> None:
    body = json.dumps({"type": "shipment.lost", "timestamp": "2026-11-04T07:00:00Z", "data": {}})
    assert post(api, body, sign(body)).status == 400
    now = datetime.now(UTC).isoformat()
    body = json.dumps({"type": "shipment.delivered", "timestamp": now,
                       "data": {"shipment_id": f"{'e' * 32}-P1", "waybill": "VN1", "occurred_at": now}})
    headers = sign(body)
    assert post(api, body, headers).body == {"result": "unapplicable", "code": "SHIPMENT_UNKNOWN"}
    assert post(api, body, headers).body["result"] == "duplicate"  # kept once
    kept = api.call("GET", "/v1/partners/vnpost/unmatched-events", token=admin_token)
    assert kept.status == 200, kept.body
    mine = [i for i in kept.body["items"] if i["webhook_id"] == headers["webhook-id"]]
    assert [(i["code"], i["body"]) for i in mine] == [("SHIPMENT_UNKNOWN", json.loads(body))]
    officer = api.token("officer", sub="postal-officer-9", agency=commune(9))
    assert api.call("GET", "/v1/partners/vnpost/unmatched-events", token=officer).status == 403


def test_an_address_outside_its_province_is_refused(api: Api, citizen: str) -> None:
    agency = commune(9)
    body = submission(PARTIAL_POSTAL, agency, channel="postal", result_delivery="post",
                      pickup_address=address(agency, province_code="79"))
    reply = api.call("POST", "/v1/dossiers", body, token=citizen)
    assert (reply.status, reply.body["error"]["code"]) == (400, "ADDRESS_INVALID")


def test_the_result_goes_back_by_post_and_a_failed_delivery_is_an_officers_task(api: Api, citizen: str,
                                                                                admin_token: str) -> None:
    agency = commune(28)
    officer = api.token("officer", sub="postal-officer", agency=agency)
    dossier_id = file_postal(api, citizen, agency, delivery_address=address(agency))  # handed in at a post office
    for action, extra in (("start-processing", {}), ("approve", {}), ("mark-result-ready",
                                                                      {"result_reference": "QD-28"})):
        version = api.call("GET", f"/v1/dossiers/{dossier_id}", token=officer).body["version"]
        reply = api.call("POST", f"/v1/dossiers/{dossier_id}/actions/{action}",
                         {"expected_version": version, **extra}, token=officer)
        assert reply.status == 200, reply.body
    shipment = with_shipments(api, citizen, dossier_id)["shipments"][0]
    assert shipment["kind"] == "return"
    now = datetime.now(UTC)
    failed = callback_body(shipment, "failed", now - timedelta(minutes=4))
    assert post(api, failed, sign(failed)).body["result"] == "applied"
    queue = api.call("GET", f"/v1/agencies/{agency}/postal-queue", token=officer)
    assert queue.status == 200, queue.body
    (item,) = [i for i in queue.body["items"] if i["dossier_id"] == dossier_id]
    assert [t["code"] for t in item["tasks"]] == ["DELIVERY_FAILED"]
    delivered = callback_body(shipment, "delivered", now - timedelta(minutes=2))
    assert post(api, delivered, sign(delivered)).body["result"] == "applied"
    dossier = api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body
    assert (dossier["status"], dossier["returned_via"]) == ("result_returned", "post")
    queue = api.call("GET", f"/v1/agencies/{agency}/postal-queue", token=officer).body
    assert dossier_id not in {i["dossier_id"] for i in queue["items"]}  # delivered: nothing left to see to

    period = business_date(now).strftime("%Y-%m")
    report = wait_for(lambda: api.kpi(agency, period, admin_token),
                      lambda r: r["postal"]["results_returned_by_post"] >= 1, 10)
    assert report["postal"]["results_returned_by_post"] == 1
    assert report["postal"]["deliveries"]["return"] == 1


def test_the_simulator_walks_a_shipment_with_duplicated_reordered_callbacks(api: Api, citizen: str,
                                                                            auto_partner: None) -> None:
    agency = commune(29)
    dossier_id = file_postal(api, citizen, agency, pickup_address=address(agency))
    dossier = wait_for(lambda: api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body,
                       lambda d: d["status"] == "received" and d["shipments"][0]["status"] == "delivered", 20)
    assert dossier["status"] == "received", dossier
    assert dossier["shipments"][0]["status"] == "delivered"


def test_a_shuffled_duplicated_stream_for_100_dossiers_ends_right(stack: LocalStack, api: Api, citizen: str,
                                                                  admin_token: str) -> None:
    agency = commune(8)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: file_postal(api, citizen, agency, pickup_address=address(agency)), range(100)))
    assert stack.postal is not None
    orders = stack.postal.orders  # what the partner was asked for, by the postal consumer: one pickup per dossier
    wait_for(lambda: sum(1 for i in ids if f"{i}-P1" in orders), lambda n: n == 100, 30)
    shipments = {i: {"shipment_id": f"{i}-P1", "waybill": orders[f"{i}-P1"].waybill} for i in ids}

    rng = random.Random(11)
    base = (datetime.now(UTC) - timedelta(minutes=8)).replace(microsecond=0)
    expected: dict[str, datetime] = {}
    messages = []
    for n, dossier_id in enumerate(ids):
        steps = ["accepted", "picked_up", *(["failed"] if n % 5 == 0 else []), "delivered"]
        times = [base + timedelta(seconds=n + 60 * k) for k in range(len(steps))]
        expected[dossier_id] = times[-1]
        for kind, at in zip(steps, times, strict=True):
            body = callback_body(shipments[dossier_id], kind, at)
            messages += [(body, sign(body))] * (2 if rng.random() < 0.3 else 1)  # the partner's retries
    rng.shuffle(messages)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda m: post(api, *m), messages))
    took = time.monotonic() - started
    assert {r.status for r in replies} == {200}, [r.body for r in replies if r.status != 200][:3]
    results = [r.body["result"] for r in replies]
    assert results.count("duplicate") == len(messages) - len({h["webhook-id"] for _, h in messages})
    assert "unapplicable" not in results

    with ThreadPoolExecutor(8) as pool:
        dossiers = list(pool.map(lambda i: api.call("GET", f"/v1/dossiers/{i}", token=citizen).body, ids))
    for dossier in dossiers:
        assert dossier["status"] == "received", dossier
        assert datetime.fromisoformat(dossier["received_at"]) == expected[dossier["id"]]
        assert [s["status"] for s in dossier["shipments"]] == ["delivered"]
    officer = api.token("officer", sub="postal-officer-8", agency=agency)
    queue = api.call("GET", f"/v1/agencies/{agency}/postal-queue?limit=100", token=officer).body
    assert queue["items"] == []  # every failed attempt was followed by its delivery: no task left open

    period = business_date(datetime.now(UTC)).strftime("%Y-%m")
    report = wait_for(lambda: api.kpi(agency, period, admin_token),
                      lambda r: r["postal"]["deliveries"]["pickup"] >= 100, 60)["postal"]
    assert (report["received_by_post"], report["deliveries"]["pickup"], report["shipments_requested"]["pickup"],
            report["deliveries_late"], report["returned_to_sender"]) == (100, 100, 100, 0, 0)
    print(f"{len(messages)} callbacks for 100 dossiers applied in {took:.1f} s")
    assert took < 60  # about 10 s on an idle two-core machine; a regression to one-at-a-time would be far slower


def test_a_parcel_returned_to_sender_waits_at_the_desk_until_an_officer_closes_its_task(api: Api,
                                                                                      citizen: str) -> None:
    agency = commune(29)
    officer = api.token("officer", sub="postal-officer-29", agency=agency)
    dossier_id = file_postal(api, citizen, agency, delivery_address=address(agency))
    for action, extra in (("start-processing", {}), ("approve", {}), ("mark-result-ready",
                                                                      {"result_reference": "QD-29"})):
        version = api.call("GET", f"/v1/dossiers/{dossier_id}", token=officer).body["version"]
        assert api.call("POST", f"/v1/dossiers/{dossier_id}/actions/{action}", {"expected_version": version, **extra},
                        token=officer).status == 200
    shipment = with_shipments(api, citizen, dossier_id)["shipments"][0]
    back = callback_body(shipment, "returned", datetime.now(UTC) - timedelta(minutes=1))
    assert post(api, back, sign(back)).body["result"] == "applied"
    assert api.call("GET", f"/v1/dossiers/{dossier_id}", token=citizen).body["status"] == "result_ready"
    queue = api.call("GET", f"/v1/agencies/{agency}/postal-queue", token=officer).body
    (task,) = next(i for i in queue["items"] if i["dossier_id"] == dossier_id)["tasks"]
    assert (task["kind"], task["code"]) == ("returned", "RETURNED_TO_SENDER")
    close = f"/v1/dossiers/{dossier_id}/postal-tasks/{task['task_id']}/close"
    elsewhere = api.token("officer", sub="postal-officer-x", agency=commune(9))
    assert api.call("POST", close, {}, token=elsewhere).status == 403
    closed = api.call("POST", close, {"note": "Đã gọi điện cho người nhận"}, token=officer)
    assert (closed.status, closed.body["open"]) == (200, False)
    queue = api.call("GET", f"/v1/agencies/{agency}/postal-queue", token=officer).body
    assert dossier_id not in {i["dossier_id"] for i in queue["items"]}
