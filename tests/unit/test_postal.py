"""The postal service's use cases on in-memory fakes: a postal filing waits for its pickup, the consumer asks the
partner once (retrying while it is unavailable), callbacks apply exactly once and their effects follow (issue 11)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import datetime
from typing import Any

import pytest

from chalicelib.domain.actions import ActOnDossier
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.dossier import Document, SubmitDossier
from chalicelib.domain.errors import ForbiddenError, NotFoundError, UpstreamUnavailableError, ValidationError
from chalicelib.domain.events import EventType
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.shipments import DEFAULT_SERVICE_LEVELS, Address, ShipmentKind, ShipmentStatus
from chalicelib.domain.vocabulary import Channel, ResultDelivery, Status
from chalicelib.services import payments, postal
from chalicelib.services.lifecycle import act_on_dossier
from chalicelib.services.submission import submit_dossier
from chalicelib.store.sequences import SequenceCache
from chalicelib.validation import validate
from tests.fakes import FakeGateway, FakePostalPartner, InMemoryCatalogue, InMemoryTables, InMemoryUnitOfWork
from tests.unit.test_actions import CITIZEN, COMMUNE, OFFICER, OFFICER_ELSEWHERE, OTHER_COMMUNE, OWNER, vn
from tests.unit.test_payments import FULL, PARTIAL

CAL = WorkingCalendar()
HOME = Address("12 Lê Lợi", "19903", "46", "Nguyễn Văn An", "0912345678")


class World:
    def __init__(self) -> None:
        self.catalogue = InMemoryCatalogue([COMMUNE, OTHER_COMMUNE], [FULL, PARTIAL])
        self.tables = InMemoryTables()
        self.partner = FakePostalPartner(accepted_at=vn(2, 9))
        self.ids = (f"{n:032x}" for n in itertools.count(1))
        self.sequences = SequenceCache()
        self.webhook_ids = itertools.count(1)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.tables, self.catalogue, self.sequences)

    def new_id(self) -> str:
        return next(self.ids)

    def submit(self, procedure: Any = PARTIAL, *, pickup: Address | None = HOME, delivery: Address | None = HOME,
               channel: Channel = Channel.POSTAL) -> str:
        cmd = SubmitDossier(owner_id=OWNER.user_id, procedure_code=procedure.code, agency_code=COMMUNE.code,
                            channel=channel, applicant=CITIZEN, documents=(Document("to_khai", "Tờ khai"),),
                            result_delivery=ResultDelivery.POST, pickup_address=pickup, delivery_address=delivery)
        done = submit_dossier(cmd, self.uow(), actor=OWNER, calendar_for=lambda _: CAL, now=vn(2, 8),
                              new_id=self.new_id, render=lambda d: {"id": d.id})
        return str(done.body["id"])

    def dossier(self, dossier_id: str) -> Any:
        return self.tables.dossiers[dossier_id]

    def consume(self, dossier_id: str, at: datetime | None = None) -> list[str]:
        return postal.request_shipments(dossier_id, self.partner, self.uow, now=lambda: at or vn(2, 9),
                                        new_id=self.new_id, calendar_for=lambda _: CAL,
                                        service_levels=DEFAULT_SERVICE_LEVELS, backoff_s=0)

    def callback(self, dossier_id: str, kind: str, occurred: datetime, shipment: int = 0,
                 webhook_id: str | None = None, now: datetime | None = None) -> postal.CallbackAnswer:
        s = self.dossier(dossier_id).shipments[shipment]
        body = {"type": f"shipment.{kind}", "timestamp": occurred.isoformat(),
                "data": {"shipment_id": s.shipment_id, "waybill": s.waybill, "occurred_at": occurred.isoformat()}}
        return postal.apply_callback("vnpost", webhook_id or f"msg_{next(self.webhook_ids)}", body, self.uow,
                                     now=now or vn(20), new_id=self.new_id, calendar_for=lambda _: CAL)

    def act(self, dossier_id: str, action: Action, **params: Any) -> None:
        cmd = ActOnDossier(dossier_id, action, self.dossier(dossier_id).version, params)
        act_on_dossier(cmd, self.uow(), actor=OFFICER, calendar_for=lambda _: CAL, now=vn(10, 9), new_id=self.new_id)

    def events(self, event_type: str) -> list[Any]:
        return [e for e in self.tables.outbox if e.event_type == event_type]


@pytest.fixture
def world() -> World:
    return World()


def test_a_postal_filing_with_a_pickup_address_waits_for_its_pickup(world: World) -> None:
    waiting, handed_in = world.submit(), world.submit(pickup=None)
    assert world.dossier(waiting).status is Status.REGISTERED and world.dossier(waiting).received_at is None
    assert world.dossier(handed_in).status is Status.RECEIVED  # handed in at a post office: received at once, as before
    assert world.consume(handed_in) == []


def test_the_pickup_is_asked_for_once_however_often_the_event_comes(world: World) -> None:
    dossier_id = world.submit()
    assert world.consume(dossier_id) == [f"{dossier_id}-P1"]
    assert world.consume(dossier_id) == []
    (shipment,) = world.dossier(dossier_id).shipments
    assert (shipment.kind, shipment.status, shipment.waybill) == (ShipmentKind.PICKUP, ShipmentStatus.REQUESTED,
                                                                  "VN000000001")
    assert shipment.expected_by.isoformat() == "2026-11-04"  # same province: J+2 from Monday
    order = world.partner.orders[shipment.shipment_id]
    assert (order.sender, order.receiver.province_code) == (HOME, "46")
    (requested,) = world.events(EventType.SHIPMENT_REQUESTED)
    assert "Nguyễn" not in str(requested.detail()) and "0912345678" not in str(requested.detail())


def test_a_partner_unavailable_for_a_while_is_asked_again_then_the_message_fails(world: World) -> None:
    dossier_id = world.submit()
    world.partner.unavailable = 2
    assert world.consume(dossier_id) == [f"{dossier_id}-P1"]
    assert world.partner.calls == 3
    other = world.submit()
    world.partner.unavailable = postal.PARTNER_ATTEMPTS
    with pytest.raises(UpstreamUnavailableError):
        world.consume(other)
    assert world.dossier(other).shipments == []  # nothing stored: the queue redelivers the message


def test_the_pickup_delivered_at_the_desk_receives_the_dossier_then_and_once(world: World) -> None:
    dossier_id = world.submit()
    world.consume(dossier_id)
    assert world.callback(dossier_id, "picked_up", vn(3, 9)).as_dict() == {"result": "applied",
                                                                          "code": "SHIPMENT_ADVANCED"}
    answer = world.callback(dossier_id, "delivered", vn(4, 14), webhook_id="msg_delivered")
    assert answer.result == "applied"
    dossier = world.dossier(dossier_id)
    assert (dossier.status, dossier.received_at) == (Status.RECEIVED, vn(4, 14))
    assert dossier.appointment_at == CAL.appointment(vn(4, 14), PARTIAL.processing_time)  # the clock starts then
    version = dossier.version
    assert world.callback(dossier_id, "delivered", vn(4, 14), webhook_id="msg_delivered").result == "duplicate"
    assert world.dossier(dossier_id).version == version
    (received,) = world.events(EventType.DOSSIER_RECEIVED)
    assert (received.channel, received.occurred_at) == ("postal", vn(4, 14))
    (delivered,) = world.events(EventType.SHIPMENT_DELIVERED)
    assert delivered.payload.late is False


def test_a_failed_delivery_raises_a_task_and_tells_the_applicant(world: World) -> None:
    dossier_id = world.submit()
    world.consume(dossier_id)
    world.callback(dossier_id, "failed", vn(3, 9))
    dossier = world.dossier(dossier_id)
    (task,) = dossier.postal_tasks
    assert (task.kind, task.code, task.open) == ("failed", "DELIVERY_FAILED", True)
    assert world.events(EventType.SHIPMENT_FAILED)
    world.callback(dossier_id, "delivered", vn(5, 9))
    assert world.dossier(dossier_id).postal_tasks[0].open is False  # delivered after all


def test_an_unknown_shipment_is_acknowledged_with_a_code_and_kept(world: World) -> None:
    body = {"type": "shipment.delivered", "timestamp": "2026-11-04T07:00:00Z",
            "data": {"shipment_id": f"{'f' * 32}-P1", "waybill": "VN9", "occurred_at": "2026-11-04T07:00:00Z"}}
    answer = postal.apply_callback("vnpost", "msg_x", body, world.uow, now=vn(20), new_id=world.new_id,
                                   calendar_for=lambda _: CAL)
    assert answer.as_dict() == {"result": "unapplicable", "code": "SHIPMENT_UNKNOWN"}
    assert world.tables.callbacks[("vnpost", "msg_x")]["body"] == body


def ready(world: World, procedure: Any) -> str:
    dossier_id = world.submit(procedure, pickup=None)  # handed in at a post office, result by post
    world.act(dossier_id, Action.START_PROCESSING)
    world.act(dossier_id, Action.APPROVE)
    world.act(dossier_id, Action.MARK_RESULT_READY, result_reference="QD-1")
    return dossier_id


def test_the_result_goes_back_when_ready_and_its_delivery_returns_the_dossier(world: World) -> None:
    dossier_id = ready(world, PARTIAL)
    assert world.consume(dossier_id, vn(10, 10)) == [f"{dossier_id}-R1"]
    world.callback(dossier_id, "delivered", vn(13, 10))
    dossier = world.dossier(dossier_id)
    assert (dossier.status, dossier.returned_via) == (Status.RESULT_RETURNED, "post")
    assert world.events(EventType.RESULT_RETURNED)[0].payload.via.value == "post"
    assert world.events(EventType.SHIPMENT_DELIVERED)[0].payload.late is True  # J+2 from 10 Nov is the 12th


def test_a_full_online_result_goes_by_post_only_once_paid_online(world: World) -> None:
    full_postal = dataclasses.replace(FULL, code="2.000003")
    world.catalogue = InMemoryCatalogue([COMMUNE], [FULL, PARTIAL, full_postal])
    dossier_id = ready(world, full_postal)
    dossier = world.dossier(dossier_id)
    dossier.fees_charged = dossier.fees_total  # asked for by an officer; the directive wants them paid online
    assert world.consume(dossier_id, vn(10, 10)) == []  # not paid online: no return asked for
    gateway = FakeGateway()
    payment = payments.request_payment(dossier_id, gateway, world.uow, actor=OWNER, now=vn(10, 11),
                                       new_id=world.new_id, client_ip="203.0.113.7").payment
    payments.settle_callback(gateway, gateway.callback(payment.txn_ref, payment.amount), world.uow, now=vn(10, 12),
                             new_id=world.new_id)
    assert world.consume(dossier_id, vn(10, 13)) == [f"{dossier_id}-R1"]


def test_returned_to_sender_is_recorded_and_the_result_waits_at_the_desk(world: World) -> None:
    dossier_id = ready(world, PARTIAL)
    world.consume(dossier_id, vn(10, 10))
    world.callback(dossier_id, "returned", vn(12, 10))
    dossier = world.dossier(dossier_id)
    assert dossier.status is Status.RESULT_READY and dossier.shipments[0].status is ShipmentStatus.RETURNED
    assert [t.kind for t in dossier.postal_tasks] == ["returned"]
    assert world.consume(dossier_id, vn(12, 11)) == []  # not sent again: an officer hands it over at the desk


def test_a_withdrawn_dossiers_pickup_is_cancelled(world: World) -> None:
    dossier_id = world.submit()
    world.consume(dossier_id)
    cmd = ActOnDossier(dossier_id, Action.WITHDRAW, world.dossier(dossier_id).version, {})
    act_on_dossier(cmd, world.uow(), actor=OWNER, calendar_for=lambda _: CAL, now=vn(2, 10), new_id=world.new_id)
    assert world.consume(dossier_id) == [f"{dossier_id}-P1"]
    assert world.partner.cancelled == [f"{dossier_id}-P1"]
    assert world.dossier(dossier_id).shipments[0].status is ShipmentStatus.CANCELLED


def test_every_event_the_postal_service_records_passes_its_schema(world: World) -> None:
    picked = world.submit()
    world.consume(picked)
    for kind, day in (("picked_up", 3), ("failed", 4), ("delivered", 5)):
        world.callback(picked, kind, vn(day, 9))
    returned = ready(world, PARTIAL)
    world.consume(returned, vn(10, 10))
    world.callback(returned, "returned", vn(12, 10))
    delivered = ready(world, PARTIAL)
    world.consume(delivered, vn(10, 10))
    world.callback(delivered, "delivered", vn(11, 10))
    kinds = {event.event_type for event in world.tables.outbox}
    assert {EventType.SHIPMENT_REQUESTED, EventType.SHIPMENT_PICKED_UP, EventType.SHIPMENT_FAILED,
            EventType.SHIPMENT_DELIVERED, EventType.SHIPMENT_RETURNED, EventType.DOSSIER_RECEIVED,
            EventType.RESULT_RETURNED} <= kinds
    for event in world.tables.outbox:
        validate(event.schema, json.loads(json.dumps(event.detail())))


@pytest.mark.parametrize("occurred_at", ["2026-02-30T10:00:00Z", "2026-11-04T25:00:00+07:00"])
def test_an_instant_that_does_not_exist_is_a_validation_error_not_a_crash(world: World, occurred_at: str) -> None:
    body = {"type": "shipment.delivered", "timestamp": "2026-11-04T07:00:00Z",
            "data": {"shipment_id": f"{'f' * 32}-P1", "waybill": "VN9", "occurred_at": occurred_at}}
    with pytest.raises(ValidationError):
        postal.apply_callback("vnpost", "msg_y", body, world.uow, now=vn(20), new_id=world.new_id,
                              calendar_for=lambda _: CAL)
    assert world.tables.callbacks == {}


def test_once_the_partner_is_down_the_rest_of_the_batch_fails_at_once(world: World) -> None:
    ids = [world.submit() for _ in range(3)]
    world.partner.unavailable = postal.PARTNER_ATTEMPTS
    failed, done = postal.request_for_messages(
        [(f"m{n}", dossier_id) for n, dossier_id in enumerate(ids)], world.partner, world.uow,
        now=lambda: vn(2, 9), new_id=world.new_id, calendar_for=lambda _: CAL,
        service_levels=DEFAULT_SERVICE_LEVELS, backoff_s=0)
    assert (failed, done, world.partner.calls) == (["m0", "m1", "m2"], 0, postal.PARTNER_ATTEMPTS)
    failed, done = postal.request_for_messages([("m3", ids[1])], world.partner, world.uow, now=lambda: vn(2, 9),
                                               new_id=world.new_id, calendar_for=lambda _: CAL,
                                               service_levels=DEFAULT_SERVICE_LEVELS, backoff_s=0)
    assert (failed, done) == ([], 1)  # back: the redelivered message asks for its pickup


def test_an_officer_of_the_holding_agency_closes_a_postal_task_once(world: World) -> None:
    dossier_id = ready(world, PARTIAL)
    world.consume(dossier_id, vn(10, 10))
    world.callback(dossier_id, "returned", vn(12, 10))
    (task,) = world.dossier(dossier_id).postal_tasks
    with pytest.raises(ForbiddenError):
        postal.close_task(dossier_id, task.task_id, world.uow, actor=OFFICER_ELSEWHERE, now=vn(13))
    with pytest.raises(NotFoundError):
        postal.close_task(dossier_id, "0" * 32, world.uow, actor=OFFICER, now=vn(13))
    closed = postal.close_task(dossier_id, task.task_id, world.uow, actor=OFFICER, now=vn(13), note="Đã gọi điện")
    version = world.dossier(dossier_id).version
    assert closed.open is False and world.dossier(dossier_id).postal_tasks[0].open is False
    assert postal.close_task(dossier_id, task.task_id, world.uow, actor=OFFICER, now=vn(14)).open is False
    assert world.dossier(dossier_id).version == version  # closing it again wrote nothing
    assert world.tables.history[dossier_id][-1].action == "close_postal_task"
