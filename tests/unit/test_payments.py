"""Fees and payments on in-memory fakes: what a dossier owes, asking to pay, settling callbacks exactly once, desk
payments, reconciliation. The protocol rules come from ../shared/DOMAIN.md "Payments" (VNPay 2.1.0's IPN order:
signature → order exists → amount → not already confirmed → success only on 00/00) and issue 9."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.actions import ActOnDossier
from chalicelib.domain.calendar import ProcessingTime, WorkingCalendar
from chalicelib.domain.catalogue import DocumentType, FeeLine, Procedure
from chalicelib.domain.dossier import Document, SubmitDossier
from chalicelib.domain.errors import ConflictError, ForbiddenError
from chalicelib.domain.events import EventType
from chalicelib.domain.history import Actor
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.payments import (
    GatewayName,
    GatewayReport,
    Outcome,
    PaymentMethod,
    PaymentStatus,
    SettleResult,
    dossier_of,
    txn_ref,
)
from chalicelib.domain.vocabulary import AgencyLevel, ApplicantKind, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.services import payments
from chalicelib.services.lifecycle import act_on_dossier
from chalicelib.services.submission import submit_dossier
from chalicelib.store.sequences import SequenceCache
from tests.fakes import FakeGateway, InMemoryCatalogue, InMemoryPayments, InMemoryTables, InMemoryUnitOfWork
from tests.unit.test_actions import CITIZEN, COMMUNE, OFFICER, OFFICER_ELSEWHERE, OTHER_COMMUNE, OWNER, STRANGER, vn

FEES = (FeeLine("Lệ phí cấp bản sao", 8000, online_amount=4000),
        FeeLine("Phí thẩm định", 20000, exempt=frozenset({ApplicantKind.STATE_BODY})))
FULL = Procedure(
    code="2.000001", name="Cấp bản sao trích lục", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=FEES, processing_time=ProcessingTime(3),
    required_documents=(DocumentType("to_khai", "Tờ khai"),), postal_result=True,
)
PARTIAL = dataclasses.replace(FULL, code="2.000002", online_form=OnlineForm.PARTIAL)
CAL = WorkingCalendar()


class World:
    def __init__(self) -> None:
        self.catalogue = InMemoryCatalogue([COMMUNE, OTHER_COMMUNE], [FULL, PARTIAL])
        self.tables = InMemoryTables()
        self.reader = InMemoryPayments(self.tables)
        self.vnpay = FakeGateway(GatewayName.VNPAY)
        self.paygov = FakeGateway(GatewayName.PAYGOV)
        self.ids = (f"{n:032x}" for n in itertools.count(1))
        self.sequences = SequenceCache()

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.tables, self.catalogue, self.sequences)

    def new_id(self) -> str:
        return next(self.ids)

    def submit(self, procedure: Procedure = FULL, *, channel: Channel = Channel.ONLINE, applicant: Any = CITIZEN,
               delivery: ResultDelivery = ResultDelivery.ONLINE) -> str:
        cmd = SubmitDossier(owner_id=OWNER.user_id, procedure_code=procedure.code, agency_code=COMMUNE.code,
                            channel=channel, applicant=applicant, documents=(Document("to_khai", "Tờ khai"),),
                            result_delivery=delivery)
        done = submit_dossier(cmd, self.uow(), actor=OWNER, calendar_for=lambda _: CAL, now=vn(2, 8),
                              new_id=self.new_id, render=lambda d: {"id": d.id})
        return str(done.body["id"])

    def dossier(self, dossier_id: str) -> Any:
        return self.tables.dossiers[dossier_id]

    def act(self, dossier_id: str, action: Action, actor: Actor = OFFICER, **params: Any) -> Any:
        cmd = ActOnDossier(dossier_id, action, self.dossier(dossier_id).version, params)
        return act_on_dossier(cmd, self.uow(), actor=actor, calendar_for=lambda _: CAL, now=vn(3, 9),
                              new_id=self.new_id)

    def pay(self, dossier_id: str, gateway: FakeGateway | None = None, at: datetime | None = None,
            actor: Actor = OWNER) -> payments.Requested:
        return payments.request_payment(dossier_id, gateway or self.vnpay, self.uow, actor=actor, now=at or vn(3, 10),
                                        new_id=self.new_id, client_ip="203.0.113.7")

    def callback(self, params: dict[str, str], gateway: FakeGateway | None = None,
                 at: datetime | None = None) -> SettleResult:
        return payments.settle_callback(gateway or self.vnpay, params, self.uow, now=at or vn(3, 10, 5),
                                        new_id=self.new_id)

    def events(self, event_type: str) -> list[Any]:
        return [e for e in self.tables.outbox if e.event_type == event_type]


@pytest.fixture
def world() -> World:
    return World()


# --- what a dossier owes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "online", "owed"), [
    (ApplicantKind.CITIZEN, True, 24000),  # the lower online fee line, and the other line in full
    (ApplicantKind.CITIZEN, False, 28000),
    (ApplicantKind.STATE_BODY, True, 4000),  # exempt from the appraisal fee
])
def test_fees_owed_follow_the_online_amount_and_exemptions(kind: ApplicantKind, online: bool, owed: int) -> None:
    assert FULL.fees_for(kind, online) == owed


def test_a_full_online_procedure_filed_online_is_charged_at_filing(world: World) -> None:
    dossier = world.dossier(world.submit(FULL))
    assert (dossier.fees_total, dossier.fees_charged, dossier.fees_due) == (24000, 24000, 24000)


def test_other_dossiers_owe_nothing_until_an_officer_asks(world: World) -> None:
    dossier_id = world.submit(PARTIAL)
    assert world.dossier(dossier_id).fees_due == 0
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES, amount=15000, reason="Lệ phí trích lục")
    dossier = world.dossier(dossier_id)
    assert (dossier.status, dossier.fees_due) == (Status.AWAITING_FEES, 15000)
    (requested,) = world.events(EventType.FEES_REQUESTED)
    assert (requested.payload.amount, requested.payload.reason) == (15000, "Lệ phí trích lục")


def test_request_fees_without_an_amount_charges_what_the_procedure_leaves_uncharged(world: World) -> None:
    dossier_id = world.submit(PARTIAL)
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES)
    assert world.dossier(dossier_id).fees_due == 24000


def test_references_are_ours_ascii_and_name_their_dossier() -> None:
    ref = txn_ref("0" * 31 + "a", 7)
    assert ref == "0" * 31 + "aP007" and ref.isalnum() and ref.isascii()
    assert dossier_of(ref) == "0" * 31 + "a"
    assert dossier_of("0" * 31 + "aX007") is None and dossier_of("order-1") is None


# --- asking to pay ----------------------------------------------------------------------------------------------


def test_asking_to_pay_makes_one_pending_payment_of_what_is_owed(world: World) -> None:
    dossier_id = world.submit(FULL)
    first = world.pay(dossier_id)
    assert first.created
    payment = first.payment
    assert (payment.amount, payment.status, payment.gateway) == (24000, PaymentStatus.PENDING, "vnpay")
    assert payment.payment_url is not None and payment.txn_ref in payment.payment_url
    assert payment.valid_until == vn(3, 10) + timedelta(minutes=15)
    again = world.pay(dossier_id, world.paygov, at=vn(3, 10, 5))  # a second request returns the pending one
    assert (again.created, again.payment.txn_ref) == (False, payment.txn_ref)
    assert len(world.tables.payments) == 1
    (event,) = world.events(EventType.PAYMENT_REQUESTED)
    assert (event.payload.amount, event.actor_id) == (24000, None)  # the applicant's id is never published


def test_an_expired_pending_payment_gives_way_to_a_new_one(world: World) -> None:
    dossier_id = world.submit(FULL)
    first = world.pay(dossier_id).payment
    second = world.pay(dossier_id, at=vn(3, 10, 16)).payment
    assert second.txn_ref != first.txn_ref and len(world.tables.payments) == 2


def test_only_the_owner_pays_online(world: World) -> None:
    dossier_id = world.submit(FULL)
    for stranger in (STRANGER, OFFICER):
        with pytest.raises(ForbiddenError):
            world.pay(dossier_id, actor=stranger)


def test_nothing_owed_nothing_to_pay(world: World) -> None:
    dossier_id = world.submit(PARTIAL)
    with pytest.raises(ConflictError) as raised:
        world.pay(dossier_id)
    assert raised.value.code == "NOTHING_TO_PAY"


def test_a_withdrawn_dossier_is_closed_to_payment(world: World) -> None:
    dossier_id = world.submit(FULL)
    world.act(dossier_id, Action.WITHDRAW, actor=OWNER)
    with pytest.raises(ConflictError) as raised:
        world.pay(dossier_id)
    assert raised.value.code == "DOSSIER_CLOSED_TO_PAYMENT"


# --- settling callbacks exactly once ------------------------------------------------------------------------------


def test_a_successful_callback_pays_once_with_one_receipt_and_one_event(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    callback = world.vnpay.callback(payment.txn_ref, 24000)
    assert world.callback(callback) is SettleResult.CONFIRMED
    for _ in range(10):  # VNPay retries until it reads 00 or 02
        assert world.callback(callback) is SettleResult.ALREADY_CONFIRMED
    dossier = world.dossier(dossier_id)
    assert (dossier.paid_total, dossier.paid_online_total, dossier.fees_due) == (24000, 24000, 0)
    assert dossier.pending_txn_ref is None
    assert len(world.tables.receipts) == 1
    (event,) = world.events(EventType.PAYMENT_SUCCEEDED)
    assert (event.payload.amount, event.payload.first_online_payment, event.actor_role) == (24000, True, "system")
    stored = world.tables.payments[payment.txn_ref]
    assert (stored.status, stored.receipt_number) == (PaymentStatus.SUCCEEDED, f"BL-{payment.txn_ref}")


def test_a_tampered_callback_is_refused_and_changes_nothing(world: World) -> None:
    payment = world.pay(world.submit(FULL)).payment
    forged = {**world.vnpay.callback(payment.txn_ref, 24000), "signature": "forged"}
    assert world.callback(forged) is SettleResult.SIGNATURE_INVALID
    assert world.tables.payments[payment.txn_ref].status is PaymentStatus.PENDING


def test_an_unknown_reference_is_not_found(world: World) -> None:
    world.pay(world.submit(FULL))
    assert world.callback(world.vnpay.callback("f" * 32 + "P001", 24000)) is SettleResult.NOT_FOUND
    assert world.callback(world.vnpay.callback("not-ours", 24000)) is SettleResult.NOT_FOUND


def test_a_callback_from_another_gateway_than_the_payments_is_not_found(world: World) -> None:
    payment = world.pay(world.submit(FULL)).payment  # at VNPay
    assert world.callback(world.paygov.callback(payment.txn_ref, 24000), world.paygov) is SettleResult.NOT_FOUND


def test_a_different_amount_is_refused_and_recorded_for_an_officer(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    assert world.callback(world.vnpay.callback(payment.txn_ref, 2400)) is SettleResult.AMOUNT_MISMATCH
    stored = world.tables.payments[payment.txn_ref]
    assert (stored.status, stored.reported_amount) == (PaymentStatus.AMOUNT_MISMATCH, 2400)
    assert world.dossier(dossier_id).paid_total == 0 and not world.events(EventType.PAYMENT_SUCCEEDED)
    entry = world.tables.history[dossier_id][-1]
    assert (entry.action, entry.internal) == ("payment_amount_mismatch", True) and "2400" in (entry.note or "")
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000)) is SettleResult.ALREADY_CONFIRMED


def test_a_failed_payment_that_later_succeeds_is_updated(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000, code="24")) is SettleResult.CONFIRMED
    assert world.tables.payments[payment.txn_ref].status is PaymentStatus.FAILED
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000, code="24")) is SettleResult.ALREADY_CONFIRMED
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000)) is SettleResult.CONFIRMED
    assert world.tables.payments[payment.txn_ref].status is PaymentStatus.SUCCEEDED
    assert len(world.events(EventType.PAYMENT_FAILED)) == 1 and len(world.events(EventType.PAYMENT_SUCCEEDED)) == 1


def test_a_success_is_never_downgraded(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    world.callback(world.vnpay.callback(payment.txn_ref, 24000))
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000, code="24")) is SettleResult.ALREADY_CONFIRMED
    assert world.tables.payments[payment.txn_ref].status is PaymentStatus.SUCCEEDED
    assert world.dossier(dossier_id).paid_online_total == 24000


def test_a_second_online_payment_is_not_a_second_dossier_paid_online(world: World) -> None:
    dossier_id = world.submit(FULL)
    first = world.pay(dossier_id).payment
    world.callback(world.vnpay.callback(first.txn_ref, 24000))
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES, amount=5000)
    second = world.pay(dossier_id, at=vn(3, 11)).payment
    world.callback(world.vnpay.callback(second.txn_ref, 5000))
    assert [e.payload.first_online_payment for e in world.events(EventType.PAYMENT_SUCCEEDED)] == [True, False]


def test_paying_what_is_owed_in_status_6_returns_the_dossier_to_processing_by_itself(world: World) -> None:
    dossier_id = world.submit(PARTIAL)
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES, amount=15000)
    payment = world.pay(dossier_id).payment
    world.callback(world.vnpay.callback(payment.txn_ref, 15000))
    dossier = world.dossier(dossier_id)
    assert dossier.status is Status.PROCESSING
    (confirmed,) = world.events(EventType.FEES_CONFIRMED)
    assert (confirmed.from_status, confirmed.actor_role, confirmed.actor_id) == ("awaiting_fees", "system", "system")
    assert world.tables.history[dossier_id][-1].to_status == "processing"


def test_the_postal_return_of_a_full_online_result_passes_once_paid_online(world: World) -> None:
    """Directive POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT (chalicelib/domain/directives.py): blocked before, passes after."""
    dossier_id = world.submit(FULL, delivery=ResultDelivery.POST)
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.APPROVE)
    world.act(dossier_id, Action.MARK_RESULT_READY, result_reference="TL-1")
    with pytest.raises(Exception) as blocked:
        world.act(dossier_id, Action.RETURN_RESULT, via="post")
    assert getattr(blocked.value, "code", "") == "POSTAL_RESULT_REQUIRES_ONLINE_PAYMENT"
    payment = world.pay(dossier_id, at=vn(3, 12)).payment
    world.callback(world.vnpay.callback(payment.txn_ref, 24000))
    world.act(dossier_id, Action.RETURN_RESULT, via="post")
    assert world.dossier(dossier_id).status is Status.RESULT_RETURNED


# --- at the desk -------------------------------------------------------------------------------------------------


def test_an_officer_records_a_desk_payment_once_per_receipt(world: World) -> None:
    dossier_id = world.submit(PARTIAL, channel=Channel.DIRECT)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES, amount=28000)

    def record(receipt: str) -> Any:
        return payments.record_desk_payment(dossier_id, world.uow, actor=OFFICER, amount=28000,
                                            method=PaymentMethod.CASH, receipt_number=receipt, now=vn(3, 14),
                                            new_id=world.new_id)

    payment = record("0001234")
    assert (payment.gateway, payment.method, payment.status) == ("desk", PaymentMethod.CASH, PaymentStatus.SUCCEEDED)
    dossier = world.dossier(dossier_id)
    assert (dossier.paid_total, dossier.paid_online_total, dossier.status) == (28000, 0, Status.PROCESSING)
    (event,) = world.events(EventType.DESK_PAYMENT_RECORDED)
    assert (event.payload.via, event.actor_id) == ("desk", OFFICER.user_id)
    with pytest.raises(ConflictError) as raised:
        record("0001234")
    assert raised.value.code == "RECEIPT_ALREADY_RECORDED"


def test_only_an_officer_of_the_holding_agency_records_desk_payments(world: World) -> None:
    dossier_id = world.submit(PARTIAL, channel=Channel.DIRECT)
    for actor in (OWNER, OFFICER_ELSEWHERE):
        with pytest.raises(ForbiddenError):
            payments.record_desk_payment(dossier_id, world.uow, actor=actor, amount=1000, method=PaymentMethod.CARD,
                                         receipt_number="R1", now=vn(3, 14), new_id=world.new_id)


# --- reconciliation ----------------------------------------------------------------------------------------------


def reconcile(world: World, at: datetime) -> dict[str, int]:
    gateways: dict[Any, Any] = {GatewayName.VNPAY: world.vnpay, GatewayName.PAYGOV: world.paygov}
    return payments.reconcile(world.reader, gateways, world.uow, now=at, new_id=world.new_id)


def test_a_payment_whose_callback_never_came_is_settled_by_reconciliation(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    assert reconcile(world, vn(3, 10, 10)) == {}  # younger than a payment URL lives: not asked about yet
    world.vnpay.answers[payment.txn_ref] = GatewayReport(payment.txn_ref, 24000, Outcome.SUCCEEDED, "00")
    assert reconcile(world, vn(3, 10, 20)) == {"asked": 1, "confirmed": 1}
    assert world.dossier(dossier_id).paid_online_total == 24000
    assert reconcile(world, vn(3, 10, 40)) == {}  # settled: no longer pending
    assert len(world.events(EventType.PAYMENT_SUCCEEDED)) == 1


def test_reconciliation_leaves_pending_what_the_gateway_cannot_answer_and_expires_it_after_a_day(world: World) -> None:
    dossier_id = world.submit(FULL)
    payment = world.pay(dossier_id).payment
    world.vnpay.unreachable = True
    assert reconcile(world, vn(3, 11)) == {"asked": 1, "unanswered": 1}
    world.vnpay.unreachable = False
    assert reconcile(world, vn(3, 12)) == {"asked": 1, "still_pending": 1}
    assert reconcile(world, vn(4, 11)) == {"asked": 1, "expired": 1}
    assert world.tables.payments[payment.txn_ref].status is PaymentStatus.EXPIRED
    # a late success still counts
    assert world.callback(world.vnpay.callback(payment.txn_ref, 24000), at=vn(4, 12)) is SettleResult.CONFIRMED
    assert world.dossier(dossier_id).paid_online_total == 24000


# --- the counters these flows feed, rebuilt from the dossiers' events ------------------------------------------------


def test_a_rebuild_from_the_dossiers_events_matches_the_counters_and_finds_a_tampered_one(world: World) -> None:
    """Issue 12, point 7: counting is a pure fold, so recounting every recorded event gives the live figures."""
    from chalicelib.domain.counting import fold
    from chalicelib.services.rebuild import rebuild
    from tests.fakes import InMemoryCounters, InMemoryDossiers

    dossier_id = world.submit(PARTIAL)
    world.act(dossier_id, Action.RECEIVE)
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.REQUEST_FEES, amount=15000)
    world.callback(world.vnpay.callback(world.pay(dossier_id).payment.txn_ref, 15000))
    other = world.submit(FULL)
    world.callback(world.vnpay.callback(world.pay(other, at=vn(3, 11)).payment.txn_ref, 24000))
    counters = InMemoryCounters()
    counters.apply(fold(world.tables.outbox + world.tables.outbox[:3]))  # redelivered events count once
    dossiers = InMemoryDossiers(world.tables)

    shadow = InMemoryCounters()  # the shadow table: what the rebuild recounted, read back for the comparison
    clean = rebuild([COMMUNE.code], ["2026-11"], dossiers, counters, shadow)
    assert (clean.dossiers, clean.differences) == (2, [])
    assert clean.events == len(world.tables.outbox) and clean.counters_compared > 5

    counters.values[("AGENCY#T46.X01", "2026-11", "payment|via=online")] += 1  # a lost or doubled write
    (difference,) = rebuild([COMMUNE.code], ["2026-11"], dossiers, counters, shadow).differences
    assert difference == {"scope": "AGENCY#T46.X01", "metric": "payment|via=online", "recounted": 2, "live": 3}
    assert shadow.read("AGENCY#T46.X01", ["2026-11"])["payment|via=online"] == 2  # the recount, kept for a look
