"""Notifications on the local stack: a dossier's life told by inbox, SMS, email and Zalo; redelivery; failover; a burst;
delivery receipts over HTTP; the inbox and preferences routes."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from chalicelib.domain.counting import agency_scope
from chalicelib.domain.events import from_detail
from chalicelib.domain.notifications import Channel, Notification, NotificationStatus, notification_id
from chalicelib.domain.templates import sms_segments
from chalicelib.integrations.messaging_config import LOCAL_DEFAULTS
from chalicelib.store.counters import CounterTable
from chalicelib.store.notifications import DynamoDevOutbox, DynamoNotifications
from chalicelib.topology import EVENT_SOURCE, NOTIFICATION_FAILURES
from chalicelib.validation import validate
from infra.local.stack import LocalStack
from tests.support import Api, Reply, commune, submission, wait_for

PROCEDURE = "1.001193"  # Đăng ký khai sinh: commune, full online, no fee
OFFICER_NAME = "Trần Thị Bích Ngọc"
SECRETS = json.loads(LOCAL_DEFAULTS["NOTIFY_WEBHOOK_SECRETS"])


def store() -> DynamoNotifications:
    return DynamoNotifications(lambda: datetime.now(UTC))


def officer_token(api: Api, sub: str, agency: str) -> str:
    reply = api.call("POST", "/v1/dev/tokens", {"role": "officer", "sub": sub, "agency": agency, "name": OFFICER_NAME})
    assert reply.status == 200, reply.body
    return str(reply.body["token"])


def act(api: Api, dossier: dict[str, Any], action: str, token: str, **params: Any) -> dict[str, Any]:
    reply = api.call("POST", f"/v1/dossiers/{dossier['id']}/actions/{action}",
                     {"expected_version": dossier["version"], **params}, token=token)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def inbox(api: Api, token: str, **query: Any) -> Reply:
    path = "/v1/me/notifications" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return api.call("GET", path, token=token)


def all_notices(event_ids: list[str]) -> list[Notification]:
    found = (store().get(notification_id(event_id, channel)) for event_id in event_ids for channel in Channel)
    return [n for n in found if n is not None]


@pytest.fixture
def sandbox(stack: LocalStack) -> Iterator[Any]:
    assert stack.notify is not None
    yield stack.notify
    for provider in ("vnpt", "zalo"):
        stack.notify.set_mode(provider, "ok")


def sent_by_sandbox(stack: LocalStack, reference: str) -> list[dict[str, Any]]:
    assert stack.notify is not None
    return [m for m in stack.notify.snapshot()["messages"] if m["reference"] == reference]


def ses_messages(stack: LocalStack) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{stack.config.moto_port}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return list(json.loads(answer.read())["ses"]["Message"])


def test_one_dossiers_life_reaches_the_applicant_on_every_channel(api: Api, stack: LocalStack, sandbox: Any) -> None:
    agency = commune(28)
    citizen = api.token("citizen", sub="nt-life")
    officer = officer_token(api, "nt-life-officer", agency)
    reply = api.call("POST", "/v1/dossiers", submission(PROCEDURE, agency), token=citizen)
    assert reply.status == 201, reply.body
    dossier = reply.body
    for action, params in [("receive", {}), ("start-processing", {}), ("approve", {}),
                           ("mark-result-ready", {"result_reference": "KS-12/2026"}), ("return-result", {"via": "desk"})]:
        dossier = act(api, dossier, action, officer, **params)

    expected = ["ResultReturned", "ResultReady", "DossierApproved", "ProcessingStarted", "DossierReceived",
                "DossierSubmitted"]
    # generous: in the full suite every earlier test's dossiers are notified too, and this queue drains them first
    page = wait_for(lambda: inbox(api, citizen), lambda r: len(r.body["items"]) == len(expected), timeout_s=180)
    assert page.status == 200, page.body
    validate("inbox-page.v1.json", page.body)
    items = page.body["items"]
    assert [item["event_type"] for item in items] == expected  # newest first
    received = items[4]
    code = dossier["code"]
    appointment = datetime.fromisoformat(dossier["appointment_at"].replace("Z", "+00:00")).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert received["title"] == f"Hồ sơ {code} đã được tiếp nhận"
    assert "Kính gửi Nguyễn Thị Hoà" in received["text"] and "Đăng ký khai sinh" in received["text"]
    assert f"Cán bộ tiếp nhận: {OFFICER_NAME}." in received["text"]
    assert f"Ngày hẹn trả kết quả: {appointment}." in received["text"]
    assert received["link"].endswith(f"/ho-so/{dossier['id']}") and received["template"] == "DossierReceived.v1"
    assert items[-1]["text"].count(OFFICER_NAME) == 0  # the applicant's own filing names no officer

    # SMS by the brandname gateway, without diacritics, within its segment budget; email by SES; Zalo by ZNS
    received_id = next(n for n in all_notices(_event_ids(received)) if n.channel is Channel.SMS).id
    sms = wait_for(lambda: sent_by_sandbox(stack, received_id), bool, timeout_s=30)
    assert len(sms) == 1 and sms[0]["to"] == "84912345678" and sms[0]["brandname"] == "DVC-LOCAL"
    text = sms[0]["text"]
    assert text.startswith(f"Ho so {code} da duoc ") and f"Ngay hen tra: {appointment}." in text
    assert "CB: Tran Thi Bich Ngoc" in text and text.isascii() and (sms_segments(text) or 9) <= 2
    notices = wait_for(lambda: all_notices(_event_ids(received)), lambda ns: all(n.final for n in ns), timeout_s=30)
    by_channel = {n.channel: n for n in notices}
    assert set(by_channel) == set(Channel)
    assert by_channel[Channel.SMS].status is NotificationStatus.DELIVERED  # the gateway's signed receipt came back
    assert by_channel[Channel.ZALO].status is NotificationStatus.DELIVERED
    assert by_channel[Channel.EMAIL].status is NotificationStatus.SENT and by_channel[Channel.EMAIL].provider == "ses"
    emails = [m for m in ses_messages(stack) if m["subject"] == f"Hồ sơ {code} đã được tiếp nhận"]
    assert len(emails) == 1 and emails[0]["destinations"]["ToAddresses"] == ["hoa@example.vn"]
    zalo = sent_by_sandbox(stack, by_channel[Channel.ZALO].id)
    assert zalo[0]["template_id"] == "330002" and zalo[0]["template_data"]["ma_ho_so"] == code

    # the province's figures: sent per channel at the commune, this month
    month = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    sent = {f"notifications_sent|channel={channel}": len(expected) for channel in ("sms", "email", "zalo")}
    figures = wait_for(lambda: CounterTable().read(agency_scope(agency), [month]),
                       lambda f: {k: f.get(k) for k in sent} == sent, timeout_s=60)
    assert {k: figures.get(k) for k in sent} == sent
    assert "notifications_failed|channel=sms" not in figures


def _event_ids(item: dict[str, Any]) -> list[str]:
    inbox_notice = store().get(item["id"])
    assert inbox_notice is not None
    return [inbox_notice.event_id]


def _envelope(detail: dict[str, Any], message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": "r", "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "ap-southeast-1",
            "body": json.dumps({"id": message_id, "source": EVENT_SOURCE, "detail-type": detail["event_type"],
                                "detail": detail})}


def _submitted_detail(api: Api, agency: str, sub: str, **applicant: Any) -> dict[str, Any]:
    """A real dossier (so the consumer can read its applicant) and a copy of its submission event under a new id."""
    token = api.token("citizen", sub=sub)
    body = submission(PROCEDURE, agency)
    body["applicant"].update(applicant)
    body["applicant"] = {k: v for k, v in body["applicant"].items() if v is not None}  # email=None: none given
    reply = api.call("POST", "/v1/dossiers", body, token=token)
    assert reply.status == 201, reply.body
    d = reply.body
    return {"event_id": uuid.uuid4().hex, "event_type": "DossierSubmitted", "schema_version": 1,
            "occurred_at": d["submitted_at"], "dossier_id": d["id"], "dossier_code": d["code"],
            "procedure_code": PROCEDURE, "agency_code": agency, "agency_path": ["H46", agency],
            "agency_level": "commune", "channel": "online", "online_form": "full", "status": "registered",
            "status_code": 1, "applicant_kind": "citizen", "fees_total": 0}


def test_a_redelivered_event_sends_nothing_twice(api: Api, stack: LocalStack, sandbox: Any) -> None:
    from app import app
    from tests.policy.recorder import invoked_as

    detail = _submitted_detail(api, commune(29), "nt-redeliver")
    from_detail(detail)  # a real event of ours
    handler = app.handler_map["notifications"]
    with invoked_as("notifications"):
        for attempt in range(3):
            assert handler({"Records": [_envelope(detail, f"m{attempt}")]}, None) == {"batchItemFailures": []}
    sms_id = notification_id(detail["event_id"], Channel.SMS)
    assert len(sent_by_sandbox(stack, sms_id)) == 1
    assert len(sent_by_sandbox(stack, notification_id(detail["event_id"], Channel.ZALO))) == 1
    calls = DynamoDevOutbox(lambda: datetime.now(UTC)).recent(100)
    for channel in (Channel.SMS, Channel.EMAIL, Channel.ZALO):
        reference = notification_id(detail["event_id"], channel)
        assert [c["reference"] for c in calls].count(reference) == 1, channel
        notice = store().get(reference)
        assert notice is not None and len(notice.attempts) == 1 and notice.attempts[0].endswith(":accepted")


def test_a_failing_sms_provider_fails_over_and_a_refusal_fails_permanently(api: Api, stack: LocalStack,
                                                                            sandbox: Any) -> None:
    from app import app
    from tests.policy.recorder import invoked_as

    handler = app.handler_map["notifications"]
    sandbox.set_mode("vnpt", "unavailable")
    sandbox.set_mode("zalo", "busy")
    detail = _submitted_detail(api, commune(29), "nt-failover", email=None)
    with invoked_as("notifications"):
        assert handler({"Records": [_envelope(detail, "f1")]}, None) == {"batchItemFailures": []}
    sms = store().get(notification_id(detail["event_id"], Channel.SMS))
    assert sms is not None and sms.status is NotificationStatus.SENT and sms.provider == "sns"
    assert sms.attempts == ["vnpt:unavailable"] * 3 + ["sns:accepted"]  # three tries with backoff, then the next
    zalo = store().get(notification_id(detail["event_id"], Channel.ZALO))
    assert zalo is not None and zalo.status is NotificationStatus.TECHNICAL_FAILURE  # Zalo has no second provider
    assert zalo.attempts == ["zalo:unavailable"] * 3
    assert store().get(notification_id(detail["event_id"], Channel.EMAIL)) is None  # no address, no email
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=NOTIFICATION_FAILURES.physical("local"))["QueueUrl"]
    entries = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                                   WaitTimeSeconds=1).get("Messages", [])]
    assert {"notification_id": zalo.id, "event_id": detail["event_id"], "channel": "zalo",
            "attempts": zalo.attempts} in entries

    sandbox.set_mode("vnpt", "reject")
    sandbox.set_mode("zalo", "ok")
    refused = _submitted_detail(api, commune(29), "nt-refused", email=None)
    with invoked_as("notifications"):
        assert handler({"Records": [_envelope(refused, "f2")]}, None) == {"batchItemFailures": []}
    sms = store().get(notification_id(refused["event_id"], Channel.SMS))
    assert sms is not None and sms.status is NotificationStatus.PERMANENT_FAILURE and sms.attempts == ["vnpt:refused"]


BURST = int(os.environ.get("NOTIFY_BURST", "60"))


def test_a_burst_of_events_drains_with_every_notification_final(api: Api, stack: LocalStack, sandbox: Any) -> None:
    """`BURST` submission events on the bus at once (the README's 1,000 is `NOTIFY_BURST=1000`): every notice they
    give ends in a final status, each sent once."""
    details = [_submitted_detail(api, commune(29), f"nt-burst-{i % 5}") for i in range(5)]
    events = [{**details[i % 5], "event_id": uuid.uuid4().hex} for i in range(BURST)]
    bus = stack.client("events")
    started = time.monotonic()
    for start in range(0, len(events), 10):
        answer = bus.put_events(Entries=[{"Source": EVENT_SOURCE, "DetailType": e["event_type"], "Detail": json.dumps(e),
                                          "EventBusName": "dvc-local-events"} for e in events[start:start + 10]])
        assert answer["FailedEntryCount"] == 0
    ids = [e["event_id"] for e in events]
    notices = wait_for(lambda: all_notices(ids), lambda ns: len(ns) == 4 * BURST and all(n.final for n in ns),
                       timeout_s=120 + BURST * 0.5, every_s=1)
    elapsed = time.monotonic() - started
    assert len(notices) == 4 * BURST, len(notices)
    assert [n.id for n in notices if not n.final] == []
    references = [m["reference"] for m in sandbox.snapshot()["messages"]]
    assert all(references.count(n.id) == 1 for n in notices if n.channel in (Channel.SMS, Channel.ZALO))
    print(f"burst of {BURST} events: {len(notices)} notices final after {elapsed:.1f} s")


def _signed(provider: str, body: dict[str, Any], *, at: datetime | None = None, secret: str | None = None,
            webhook_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(body)
    at = at or datetime.now(UTC)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    signature = Webhook(secret or SECRETS[provider]).sign(webhook_id, at, data)
    return data.encode(), {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
                           "webhook-signature": signature}


def test_delivery_receipts_move_notices_forward_only(api: Api, stack: LocalStack, sandbox: Any) -> None:
    from app import app
    from tests.policy.recorder import invoked_as

    sandbox.set_mode("vnpt", "ok", receipts=False)
    detail = _submitted_detail(api, commune(29), "nt-receipts", email=None)
    with invoked_as("notifications"):
        assert app.handler_map["notifications"]({"Records": [_envelope(detail, "r1")]}, None) == {"batchItemFailures": []}
    reference = notification_id(detail["event_id"], Channel.SMS)
    path = "/v1/partners/vnpt/delivery-receipts"

    def post(body: dict[str, Any], **signing: Any) -> Reply:
        raw, headers = _signed("vnpt", body, **signing)
        return api.call("POST", path, raw=raw, headers=headers)

    delivered = post({"reference": reference, "status": "delivered"})
    assert (delivered.status, delivered.body) == (200, {"result": "updated"})
    assert post({"reference": reference, "status": "delivered"}).body == {"result": "ignored"}  # a duplicate
    assert post({"reference": reference, "status": "sent"}).body == {"result": "ignored"}  # late "sent"
    notice = store().get(reference)
    assert notice is not None and notice.status is NotificationStatus.DELIVERED
    assert post({"reference": uuid.uuid4().hex, "status": "delivered"}).body == {"result": "unknown_reference"}
    zalo_reference = notification_id(detail["event_id"], Channel.ZALO)
    assert post({"reference": zalo_reference, "status": "permanent-failure"}).body == {"result": "ignored"}  # not vnpt's

    stale = post({"reference": reference, "status": "delivered"}, at=datetime.fromtimestamp(time.time() - 301, UTC))
    assert (stale.status, stale.body["error"]["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")
    forged = post({"reference": reference, "status": "delivered"}, secret=SECRETS["zalo"])
    assert (forged.status, forged.body["error"]["code"]) == (401, "WEBHOOK_SIGNATURE_INVALID")
    raw, headers = _signed("vnpt", {"reference": reference, "status": "delivered"})
    tampered = api.call("POST", path, raw=raw.replace(b"delivered", b"permanent-failure"), headers=headers)
    assert tampered.status == 401
    unsigned = api.call("POST", path, {"reference": reference, "status": "delivered"})
    assert (unsigned.status, unsigned.body["error"]["code"]) == (400, "HEADER_INVALID")
    odd = post({"reference": reference, "status": "read"})  # signed, but not a status we know
    assert (odd.status, odd.body["error"]["code"]) == (400, "VALIDATION_FAILED")


def test_inbox_pages_read_marks_and_preferences(api: Api, stack: LocalStack, sandbox: Any) -> None:
    from app import app
    from tests.policy.recorder import invoked_as

    citizen = api.token("citizen", sub="nt-inbox")
    other = api.token("citizen", sub="nt-inbox-other")
    prefs = api.call("PUT", "/v1/me/preferences", {"email": False, "zalo": False}, token=citizen)
    assert (prefs.status, prefs.body) == (200, {"sms": True, "email": False, "zalo": False, "inbox": True})
    assert api.call("GET", "/v1/me/preferences", token=citizen).body == prefs.body
    base = _submitted_detail(api, commune(29), "nt-inbox")
    details = [{**base, "event_id": uuid.uuid4().hex} for _ in range(3)]
    with invoked_as("notifications"):
        app.handler_map["notifications"]({"Records": [_envelope(d, f"i{n}") for n, d in enumerate(details)]}, None)
    for d in details:
        assert store().get(notification_id(d["event_id"], Channel.EMAIL)) is None  # opted out
        assert store().get(notification_id(d["event_id"], Channel.ZALO)) is None
        assert store().get(notification_id(d["event_id"], Channel.SMS)) is not None
    first = inbox(api, citizen, limit=2)
    assert first.status == 200 and len(first.body["items"]) == 2 and first.body["next_cursor"]
    rest = inbox(api, citizen, limit=2, cursor=first.body["next_cursor"])
    assert len(rest.body["items"]) >= 1
    newest = first.body["items"][0]
    assert newest["occurred_at"] >= first.body["items"][1]["occurred_at"] >= rest.body["items"][0]["occurred_at"]
    assert inbox(api, other, cursor=first.body["next_cursor"]).body["error"]["code"] == "CURSOR_INVALID"
    read = api.call("POST", f"/v1/me/notifications/{newest['id']}/read", token=citizen)
    assert read.status == 200 and read.body["read_at"]
    again = api.call("POST", f"/v1/me/notifications/{newest['id']}/read", token=citizen)
    assert again.body["read_at"] == read.body["read_at"]
    assert api.call("POST", f"/v1/me/notifications/{newest['id']}/read", token=other).status == 404
    outbox = api.call("GET", "/v1/dev/outbox?limit=5")
    assert outbox.status == 200 and len(outbox.body["items"]) == 5
    assert all("@" not in item["to"] or "***" in item["to"] for item in outbox.body["items"])
