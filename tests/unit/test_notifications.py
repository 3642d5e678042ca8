"""Notifications without I/O: templates within their budgets, the status machine, ids, masking, and the use case
(store first, at most once, retries and failover, preferences, counters) on in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from anyascii import anyascii

from chalicelib.domain.catalogue import Agency
from chalicelib.domain.dossier import Applicant, Document, Dossier
from chalicelib.domain.events import EVENTS, DossierChanged, Notify
from chalicelib.domain.notifications import (
    Channel,
    NotificationStatus,
    Preferences,
    e164,
    is_final,
    mask_email,
    mask_phone,
    may_move,
    notification_id,
)
from chalicelib.domain.templates import (
    CLIPS,
    DossierFacts,
    book,
    facts,
    fields_of,
    gsm7_septets,
    render,
    sms_segments,
    to_gsm7,
)
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, OnlineForm, ResultDelivery, Status
from chalicelib.domain.vocabulary import Channel as FilingChannel
from chalicelib.services.counting import IncomingEvent
from chalicelib.services.delivery_receipts import ReceiptResult, apply_receipt
from chalicelib.services.inbox import set_preferences
from chalicelib.services.notifications import SENDING_LEASE, Notifier, notify_batch
from infra.seed import agencies, procedures
from tests.fakes import FakeProvider, InMemoryCatalogue, InMemoryCounters, InMemoryDeadLetters, InMemoryNotifications
from tests.samples import AT, DOSSIER_ID, nth_event_id, sample

S = NotificationStatus
APPLICANT_EVENTS = [spec.name for spec in EVENTS if spec.notify is Notify.APPLICANT]
COMMUNE = Agency("T46.X01", "UBND xã Phú Lộc", AgencyLevel.COMMUNE, "commune", ("T46", "T46.X01"))
OTHER = Agency("T46.X02", "UBND xã Vinh Hiền", AgencyLevel.COMMUNE, "commune", ("T46", "T46.X02"))


# --- templates ---------------------------------------------------------------------------------------------


def test_every_event_the_applicant_hears_of_has_a_template_and_no_other_does() -> None:
    assert sorted(book().templates) == sorted(APPLICANT_EVENTS)


def worst_case_values(event_type: str) -> dict[str, str]:
    """The longest realistic facts: the seed's longest agency code, agency and procedure names (clipped as the
    consumer clips them), a long officer name, the largest money, two dates."""
    seed_agencies = agencies(46)
    code = max((a.code for a in seed_agencies), key=len) + "-261231-9999"
    agency = max((a.name for a in seed_agencies), key=len)
    procedure = max((p.name for p in procedures()), key=len)
    dossier = DossierFacts("Tôn Nữ Thị Phương Thảo Nguyễn Hoàng Bảo Ngọc Anh", procedure,
                           datetime(2026, 12, 31, 8, tzinfo=UTC), datetime(2026, 12, 31, 9, tzinfo=UTC),
                           datetime(2027, 1, 15, 9, tzinfo=UTC))
    event = sample(event_type, at=datetime(2026, 12, 31, 9, tzinfo=UTC))
    if isinstance(event, DossierChanged):
        event = replace(event, actor_role="officer", actor_name="Công Tằng Tôn Nữ Thị Phương Thảo Bích Ngọc Hà")
    values = facts(event, dossier, agency, agency, "https://dichvucong.example.gov.vn/ho-so/" + "f" * 32)
    values["amount"] = "999.999.999 đồng"
    values["code"] = code
    return values


@pytest.mark.parametrize("event_type", APPLICANT_EVENTS)
def test_every_template_renders_within_its_budget_with_worst_case_values(event_type: str) -> None:
    template = book().templates[event_type]
    values = worst_case_values(event_type)
    assert len(values["agency"]) <= CLIPS["agency"] and len(values["officer"]) <= CLIPS["officer"]
    sms = render(template, Channel.SMS, values, anyascii, book().layout_html, book().zns_data)
    assert sms.text.isascii() and gsm7_septets(sms.text) is not None, sms.text  # GSM-7, no UCS-2 fallback
    assert sms.segments is not None and sms.segments <= template.sms_segments, (sms.segments, len(sms.text), sms.text)
    email = render(template, Channel.EMAIL, values, anyascii, book().layout_html, book().zns_data)
    assert email.subject and email.text and email.html and values["code"] in email.subject
    assert "<script" not in (email.html or "") and f'href="{values["link"]}"' in (email.html or "")
    inbox = render(template, Channel.INBOX, values, anyascii, book().layout_html, book().zns_data)
    assert inbox.link == values["link"] and inbox.text == email.text
    zalo = render(template, Channel.ZALO, values, anyascii, book().layout_html, book().zns_data)
    assert zalo.template_id == template.zns_template_id and all(len(v) <= 100 for v in zalo.template_data.values())


@pytest.mark.parametrize("event_type", APPLICANT_EVENTS)
def test_every_notice_names_the_dossier_the_agency_and_a_date(event_type: str) -> None:
    """Decree 224/2026: a notice on every status change naming the agency, the officer and the relevant time."""
    template = book().templates[event_type]
    for parts in (template.text, template.sms):
        named = fields_of(parts)
        assert {"code"} <= named and named & {"agency", "to_agency"}, (event_type, named)
        assert named & {"date", "received", "appointment", "new_appointment"}, (event_type, named)
    officer_acts = event_type not in ("DossierSubmitted", "SupplementResubmitted", "DossierWithdrawn", "FeesConfirmed",
                                      "PaymentSucceeded", "PaymentFailed", "ApologyIssued",
                                      # the postal partner acts, told by its callbacks: no officer to name
                                      "ShipmentRequested", "ShipmentPickedUp", "ShipmentFailed")
    if officer_acts:
        assert "officer" in fields_of(template.text), event_type


def test_the_officer_is_named_only_when_an_officer_acted() -> None:
    template = book().templates["DossierReceived"]
    dossier = DossierFacts("An", "Đăng ký khai sinh", AT, AT + timedelta(days=3), None)
    by_officer = replace(sample("DossierReceived"), actor_role="officer", actor_name="Lê Văn Đức")  # type: ignore[type-var]
    by_system = replace(by_officer, actor_role="system", actor_name="Hệ thống")
    text = render(template, Channel.SMS, facts(by_officer, dossier, "UBND xã Phú Lộc", "", "l"), anyascii, "", {}).text
    assert text.endswith("CB: Le Van Duc") and "Ngay hen tra: 08/11/2026." in text
    assert "CB:" not in render(template, Channel.SMS, facts(by_system, dossier, "UBND xã Phú Lộc", "", "l"), anyascii,
                               "", {}).text


@pytest.mark.parametrize(("vietnamese", "plain"), [
    ("Đăng ký đất đai", "Dang ky dat dai"), ("đ Đ", "d D"), ("Hồ sơ đã được tiếp nhận", "Ho so da duoc tiep nhan"),
    ("Nguyễn Thị Hoà – “UBND”", 'Nguyen Thi Hoa - "UBND"'), ("tab\tand\nline", "tab and line"),
])
def test_sms_text_is_transliterated_by_anyascii_into_gsm7(vietnamese: str, plain: str) -> None:
    assert to_gsm7(vietnamese, anyascii) == plain


@pytest.mark.parametrize(("text", "segments"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("[" * 80, 1), ("[" * 81, 2), ("ă", None),
])
def test_gsm7_segments_count_extension_characters_twice(text: str, segments: int | None) -> None:
    assert sms_segments(text) == segments


def test_email_html_escapes_what_people_typed() -> None:
    template = book().templates["DossierRefused"]
    values = worst_case_values("DossierRefused") | {"reason": "<script>alert(1)</script> & lý do"}
    email = render(template, Channel.EMAIL, values, anyascii, book().layout_html, book().zns_data)
    assert "<script>" not in (email.html or "") and "&lt;script&gt;" in (email.html or "")
    assert "<script>alert(1)</script> & lý do" in email.text  # the text part is text


# --- the status machine, ids, masking ---------------------------------------------------------------------


@pytest.mark.parametrize(("current", "new", "allowed"), [
    (S.CREATED, S.SENDING, True), (S.CREATED, S.DELIVERED, True), (S.CREATED, S.SENT, False),
    (S.SENDING, S.SENT, True), (S.SENDING, S.TECHNICAL_FAILURE, True), (S.SENDING, S.DELIVERED, True),
    (S.SENT, S.DELIVERED, True), (S.SENT, S.PERMANENT_FAILURE, True), (S.SENT, S.TEMPORARY_FAILURE, True),
    (S.DELIVERED, S.SENT, False), (S.DELIVERED, S.DELIVERED, False), (S.DELIVERED, S.PERMANENT_FAILURE, False),
    (S.PERMANENT_FAILURE, S.DELIVERED, False), (S.TECHNICAL_FAILURE, S.SENT, False), (S.SENT, S.SENDING, False),
])
def test_statuses_only_move_forward(current: NotificationStatus, new: NotificationStatus, allowed: bool) -> None:
    assert may_move(current, new) is allowed


def test_what_is_final_depends_on_whether_a_receipt_will_come() -> None:
    assert is_final(S.SENT, awaits_receipt=False) and not is_final(S.SENT, awaits_receipt=True)
    assert all(is_final(s, True) for s in (S.DELIVERED, S.TEMPORARY_FAILURE, S.PERMANENT_FAILURE, S.TECHNICAL_FAILURE))
    assert not is_final(S.CREATED, False) and not is_final(S.SENDING, False)


def test_ids_are_the_same_for_an_event_and_channel_and_differ_otherwise() -> None:
    assert notification_id("e1", Channel.SMS) == notification_id("e1", Channel.SMS)
    assert len({notification_id(e, c) for e in ("e1", "e2") for c in Channel}) == 8


def test_masks_and_numbers() -> None:
    assert mask_phone("+84912345678") == "+8491*****78" and mask_email("hoa@example.vn") == "h***@example.vn"
    assert e164("0912345678") == e164("+84912345678") == e164("84912345678") == "+84912345678"


# --- the use case on fakes --------------------------------------------------------------------------------


class FakeDossiers:
    def __init__(self, dossier: Dossier) -> None:
        self.dossier = dossier

    def get(self, dossier_id: str) -> Dossier | None:
        return self.dossier if dossier_id == self.dossier.id else None


def the_dossier(email: str | None = "an@example.vn") -> Dossier:
    return Dossier(
        id=DOSSIER_ID, code="T46.X01-261105-0001", owner_id="user-1", procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh", agency_code=COMMUNE.code, agency_path=COMMUNE.path,
        agency_level="commune", channel=FilingChannel.ONLINE, online_form=OnlineForm.FULL,
        applicant=Applicant(ApplicantKind.CITIZEN, "Nguyễn Văn An", "046123456789", "0912345678", email),
        documents=(Document("to_khai", "Tờ khai"),), result_delivery=ResultDelivery.ONLINE, status=Status.RECEIVED,
        submitted_at=AT, appointment_at=AT + timedelta(days=3), fees_total=0, received_at=AT,
    )


class World:
    def __init__(self, sms: list[FakeProvider] | None = None, email: str | None = "an@example.vn") -> None:
        self.store = InMemoryNotifications()
        self.counters = InMemoryCounters()
        self.dead = InMemoryDeadLetters()
        self.slept: list[float] = []
        self.clock = AT
        self.sms = sms or [FakeProvider("vnpt", Channel.SMS, receipts=True), FakeProvider("sns", Channel.SMS)]
        self.email = FakeProvider("ses", Channel.EMAIL)
        self.zalo = FakeProvider("zalo", Channel.ZALO, receipts=True)
        self.notifier = Notifier(
            store=self.store, dossiers=FakeDossiers(the_dossier(email)),  # type: ignore[arg-type]
            catalogue=InMemoryCatalogue([COMMUNE, OTHER]), counters=self.counters,
            providers={Channel.SMS: self.sms, Channel.EMAIL: [self.email], Channel.ZALO: [self.zalo]},
            dead_letters=self.dead, transliterate=anyascii, now=lambda: self.clock, retry_attempts=3,
            retry_delay=lambda attempt: 0.1 * 2 ** (attempt - 1), sleep=self.slept.append,
        )

    def deliver(self, *events: Any) -> list[str]:
        messages = [IncomingEvent(f"m{n}", e.event_type, e.detail()) for n, e in enumerate(events)]
        return notify_batch(messages, self.notifier).failed_message_ids

    def notice(self, event: Any, channel: Channel) -> Any:
        return self.store.get(notification_id(event.event_id, channel))


def received(n: int = 0) -> Any:
    return replace(sample("DossierReceived", event_id=nth_event_id(n)), actor_role="officer", actor_name="Lê Văn Đức")


def test_one_event_one_notice_per_channel_each_sent_once_even_when_redelivered() -> None:
    world = World()
    event = received()
    for _ in range(3):
        assert world.deliver(event, event) == []
    assert [len(p.sent) for p in (world.sms[0], world.sms[1], world.email, world.zalo)] == [1, 0, 1, 1]
    inbox = world.notice(event, Channel.INBOX)
    assert inbox.status is S.DELIVERED and inbox.content.link.endswith(f"/ho-so/{DOSSIER_ID}")
    sms = world.notice(event, Channel.SMS)
    assert (sms.status, sms.provider, sms.awaits_receipt, sms.template) == (S.SENT, "vnpt", True, "DossierReceived.v1")
    assert world.sms[0].sent[0].reference == sms.id and world.sms[0].sent[0].to == "+84912345678"
    assert world.notice(event, Channel.EMAIL).final  # SES sends no receipts: sent is final
    assert world.counters.read("AGENCY#T46.X01", ["2026-11"]) == {
        "notifications_sent|channel=sms": 1, "notifications_sent|channel=email": 1, "notifications_sent|channel=zalo": 1}
    assert world.counters.read("AGENCY#T46", ["2026-11"])["notifications_sent|channel=sms"] == 1  # and its ancestors


def test_copies_of_one_event_worked_on_at_once_still_send_each_message_once() -> None:
    world = World()
    world.notifier.workers = 8
    event = received()
    world.deliver(*[event] * 8)  # a copy that finds a notice mid-send is handed back to the queue: look again later
    assert world.deliver(event) == []
    assert [len(p.sent) for p in (world.sms[0], world.email, world.zalo)] == [1, 1, 1]
    assert world.counters.read("AGENCY#T46.X01", ["2026-11"])["notifications_sent|channel=sms"] == 1


def test_an_unavailable_provider_is_retried_with_growing_waits_then_the_next_one_takes_over() -> None:
    world = World(sms=[FakeProvider("vnpt", Channel.SMS, ["unavailable"]), FakeProvider("sns", Channel.SMS)])
    event = received()
    assert world.deliver(event) == []
    sms = world.notice(event, Channel.SMS)
    assert (sms.status, sms.provider) == (S.SENT, "sns")
    assert sms.attempts == ["vnpt:unavailable", "vnpt:unavailable", "vnpt:unavailable", "sns:accepted"]
    assert world.slept == [0.1, 0.2]  # between the three tries, none after the last
    assert world.sms[0].calls == 3 and len(world.sms[1].sent) == 1


def test_a_provider_that_recovers_within_its_retries_keeps_the_message() -> None:
    world = World(sms=[FakeProvider("vnpt", Channel.SMS, ["unavailable", "ok"]), FakeProvider("sns", Channel.SMS)])
    event = received()
    world.deliver(event)
    assert world.notice(event, Channel.SMS).attempts == ["vnpt:unavailable", "vnpt:accepted"]
    assert world.sms[1].calls == 0


def test_when_every_provider_fails_the_notice_is_a_technical_failure_with_a_dead_letter_entry() -> None:
    world = World(sms=[FakeProvider("vnpt", Channel.SMS, ["unavailable"]), FakeProvider("sns", Channel.SMS,
                                                                                         ["unavailable"])])
    event = received()
    assert world.deliver(event) == []
    sms = world.notice(event, Channel.SMS)
    assert sms.status is S.TECHNICAL_FAILURE and len(sms.attempts) == 6
    assert world.dead.entries == [{"notification_id": sms.id, "event_id": event.event_id, "channel": "sms",
                                   "attempts": sms.attempts}]
    assert world.counters.read("AGENCY#T46.X01", ["2026-11"])["notifications_failed|channel=sms"] == 1
    assert world.deliver(event) == [] and world.sms[0].calls == 3  # redelivered: not tried again


def test_a_refusal_is_permanent_and_does_not_fail_over() -> None:
    world = World(sms=[FakeProvider("vnpt", Channel.SMS, ["refused"]), FakeProvider("sns", Channel.SMS)])
    event = received()
    world.deliver(event)
    sms = world.notice(event, Channel.SMS)
    assert (sms.status, sms.attempts, world.sms[1].calls) == (S.PERMANENT_FAILURE, ["vnpt:refused"], 0)


def test_a_notice_left_sending_is_never_sent_again() -> None:
    """A process died between claiming a notice and recording the provider's answer: the provider may have it."""
    world = World()
    event = received()
    world.deliver(event)
    sms_id = notification_id(event.event_id, Channel.SMS)
    world.store.items[sms_id] = replace(world.store.items[sms_id], status=S.SENDING, updated_at=AT)
    assert world.deliver(event) == ["m0"]  # within the lease: look again later
    world.clock = AT + SENDING_LEASE + timedelta(seconds=1)
    assert world.deliver(event) == []
    assert world.notice(event, Channel.SMS).status is S.TECHNICAL_FAILURE and len(world.sms[0].sent) == 1
    assert world.dead.entries[0]["attempts"][-1] == "abandoned"


def test_a_notice_created_but_never_claimed_is_sent_on_redelivery() -> None:
    world = World()
    event = received()
    world.deliver(event)
    sms_id = notification_id(event.event_id, Channel.SMS)
    world.store.items[sms_id] = replace(world.store.items[sms_id], status=S.CREATED, attempts=[])
    world.deliver(event)
    assert len(world.sms[0].sent) == 2 and world.notice(event, Channel.SMS).status is S.SENT


def test_preferences_and_missing_addresses_decide_the_channels() -> None:
    world = World(email=None)
    set_preferences("user-1", {"zalo": False, "sms": True}, world.store)
    event = received()
    world.deliver(event)
    assert {c for c in Channel if world.notice(event, c)} == {Channel.INBOX, Channel.SMS}
    assert set_preferences("user-1", {"zalo": True}, world.store) == Preferences()


def test_events_for_officers_and_unknown_messages() -> None:
    world = World()
    due = sample("DossierDueSoon")
    assert world.deliver(due) == [] and world.store.items == {}
    garbage = IncomingEvent("bad", "DossierReceived", {"event_id": "x"})
    assert notify_batch([garbage], world.notifier).failed_message_ids == ["bad"]  # to the queue's DLQ


def test_a_transfer_names_the_new_agency() -> None:
    world = World()
    event = replace(sample("DossierTransferred", from_agency="T46.X01", to_agency="T46.X02"), actor_role="officer",
                    actor_name="Lê Văn Đức")
    world.deliver(event)
    assert world.notice(event, Channel.INBOX).content.subject == "Hồ sơ T46.X01-261105-0001 được chuyển đến UBND xã Vinh Hiền"


def test_receipts_move_forward_once_and_count_a_late_failure_once() -> None:
    world = World()
    event = received()
    world.deliver(event)
    sms = world.notice(event, Channel.SMS)
    assert apply_receipt("vnpt", sms.id, "permanent-failure", world.store, world.counters) is ReceiptResult.UPDATED
    assert apply_receipt("vnpt", sms.id, "permanent-failure", world.store, world.counters) is ReceiptResult.IGNORED
    assert apply_receipt("vnpt", sms.id, "delivered", world.store, world.counters) is ReceiptResult.IGNORED
    assert apply_receipt("zalo", sms.id, "delivered", world.store, world.counters) is ReceiptResult.IGNORED
    assert apply_receipt("vnpt", "0" * 32, "delivered", world.store, world.counters) is ReceiptResult.UNKNOWN
    figures = world.counters.read("AGENCY#T46.X01", ["2026-11"])
    assert figures["notifications_failed|channel=sms"] == 1 and figures["notifications_sent|channel=sms"] == 1
