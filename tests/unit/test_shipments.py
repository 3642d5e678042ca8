"""Postal shipments, pure: the route and its J+n day on the working calendar, and the state machine that applies a
partner's events in any order without moving a shipment backwards (issue 11, points 5 and 6)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.shipments import (
    RANK,
    Address,
    Applied,
    PartnerEvent,
    PartnerEventType,
    Route,
    Shipment,
    ShipmentKind,
    ShipmentStatus,
    apply_event,
    dossier_of,
    expected_by,
    parse_service_levels,
    route_between,
    shipment_id,
)

T = PartnerEventType
S = ShipmentStatus
D = "0123456789abcdef0123456789abcdef"


def at(day: int, hour: int = 10) -> datetime:
    """An instant on a November 2026 day, 10:00 Vietnam time by default (2 November is a Monday)."""
    return datetime(2026, 11, day, hour - 7, tzinfo=UTC)


def address(commune: str = "19900", province: str = "46") -> Address:
    return Address("12 Lê Lợi", commune, province, "Nguyễn Văn An", "0912345678")


@pytest.mark.parametrize(("agency", "where", "route"), [
    ("H46.C19900", address("19900"), Route.SAME_COMMUNE),
    ("H46.C19900", address("19903"), Route.SAME_PROVINCE),
    ("H46.00", address("19900"), Route.SAME_PROVINCE),  # the province's service centre: no commune of its own
    ("H46.01", address("26734", "79"), Route.OTHER_PROVINCE),
    ("H46.C19900", address("19900", "79"), Route.OTHER_PROVINCE),  # a commune code alone is not the same place
])
def test_the_route_is_the_agency_against_the_address(agency: str, where: Address, route: Route) -> None:
    assert route_between(agency, where) is route


CAL = WorkingCalendar()


@pytest.mark.parametrize(("accepted", "days", "expected"), [
    (at(2), 1, date(2026, 11, 3)),  # Monday J+1: Tuesday
    (at(6), 1, date(2026, 11, 9)),  # Friday J+1: over the weekend to Monday
    (at(6), 4, date(2026, 11, 12)),
    (at(7), 2, date(2026, 11, 10)),  # accepted on Saturday: counted from it, the days are working days
    (at(7), 0, date(2026, 11, 9)),  # J+0 on a day off: the next working day
    (datetime(2026, 11, 2, 18, tzinfo=UTC), 1, date(2026, 11, 4)),  # Monday 18:00 UTC is Tuesday in Vietnam
])
def test_j_plus_n_counts_working_days_from_acceptance(accepted: datetime, days: int, expected: date) -> None:
    assert expected_by(accepted, days, CAL) == expected


def test_j_plus_n_skips_the_provinces_days_off() -> None:
    calendar = WorkingCalendar(days_off=frozenset({date(2026, 11, 3)}))
    assert expected_by(at(2), 1, calendar) == date(2026, 11, 4)


def test_service_levels_are_configuration() -> None:
    assert parse_service_levels("") == {Route.SAME_COMMUNE: 1, Route.SAME_PROVINCE: 2, Route.OTHER_PROVINCE: 4}
    assert parse_service_levels("same_commune=0, other_province=5")[Route.OTHER_PROVINCE] == 5
    with pytest.raises(ValueError):
        parse_service_levels("same_commune=-1")
    with pytest.raises(ValueError):
        parse_service_levels("moon=3")


def shipment(status: ShipmentStatus = S.REQUESTED) -> Shipment:
    return Shipment(shipment_id(D, ShipmentKind.PICKUP), ShipmentKind.PICKUP, "vnpost", "VN1", status,
                    Route.SAME_PROVINCE, requested_at=at(2, 8), accepted_at=at(2, 8), expected_by=date(2026, 11, 4),
                    service_days=2)


def event(kind: PartnerEventType, when: datetime, waybill: str = "VN1") -> PartnerEvent:
    return PartnerEvent(kind, shipment_id(D, ShipmentKind.PICKUP), waybill, when)


NOW = at(20)
JOURNEY = [event(T.ACCEPTED, at(2, 9)), event(T.PICKED_UP, at(3)), event(T.FAILED, at(4)),
           event(T.DELIVERED, at(5))]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(JOURNEY)))))
def test_any_arrival_order_ends_where_the_occurred_at_order_ends(order: tuple[int, ...]) -> None:
    s = shipment()
    results = [apply_event(s, JOURNEY[i], NOW) for i in order]
    assert s.status is S.DELIVERED
    assert (s.picked_up_at, s.delivered_at, s.failed_attempts) == (at(3), at(5), [at(4)])
    # every step moved the shipment forward or only recorded a time; none ever moved it back
    assert all(r.result in (Applied.MOVED, Applied.RECORDED) for r in results)
    assert all(RANK[r.after] >= RANK[r.before] for r in results)


def test_a_late_older_event_is_recorded_and_never_moves_a_shipment_back() -> None:
    s = shipment()
    assert apply_event(s, event(T.DELIVERED, at(5)), NOW).result is Applied.MOVED
    late = apply_event(s, event(T.PICKED_UP, at(3)), NOW)
    assert (late.result, late.code, s.status) == (Applied.RECORDED, "SHIPMENT_NOT_ADVANCED", S.DELIVERED)
    assert s.picked_up_at == at(3)


def test_the_same_event_twice_changes_nothing_the_second_time() -> None:
    s = shipment()
    apply_event(s, event(T.PICKED_UP, at(3)), NOW)
    again = apply_event(s, event(T.PICKED_UP, at(3)), NOW)
    assert (again.result, s.status, s.picked_up_at) == (Applied.RECORDED, S.PICKED_UP, at(3))


def test_a_second_failed_attempt_is_news_an_older_one_is_not() -> None:
    s = shipment()
    assert apply_event(s, event(T.FAILED, at(4)), NOW).result is Applied.MOVED
    assert apply_event(s, event(T.FAILED, at(5)), NOW).result is Applied.MOVED  # a new task for the officer
    assert apply_event(s, event(T.FAILED, at(3)), NOW).result is Applied.RECORDED
    assert s.failed_attempts == [at(3), at(4), at(5)]


@pytest.mark.parametrize(("first", "second", "code"), [
    (event(T.DELIVERED, at(5)), event(T.RETURNED, at(6)), "SHIPMENT_ALREADY_FINAL"),
    (event(T.RETURNED, at(5)), event(T.DELIVERED, at(6)), "SHIPMENT_ALREADY_FINAL"),
    (event(T.PICKED_UP, at(3)), event(T.DELIVERED, at(5), waybill="VN2"), "WAYBILL_MISMATCH"),
    (event(T.PICKED_UP, at(3)), event(T.DELIVERED, NOW + timedelta(hours=1)), "OCCURRED_AT_INVALID"),
    (event(T.PICKED_UP, at(3)), event(T.DELIVERED, at(1)), "OCCURRED_AT_INVALID"),  # before we asked for it
])
def test_an_event_that_can_never_apply_changes_nothing(first: PartnerEvent, second: PartnerEvent, code: str) -> None:
    s = shipment()
    apply_event(s, first, NOW)
    before = (s.status, s.delivered_at, s.returned_at)
    result = apply_event(s, second, NOW)
    assert (result.result, result.code) == (Applied.UNAPPLICABLE, code)
    assert (s.status, s.delivered_at, s.returned_at) == before


def test_an_acceptance_report_leaves_the_j_plus_n_day_as_the_order_was_answered() -> None:
    s = shipment()
    assert apply_event(s, event(T.ACCEPTED, at(6)), NOW).after is S.ACCEPTED
    assert (s.accepted_at, s.expected_by) == (at(2, 8), date(2026, 11, 4))


@pytest.mark.parametrize(("delivered", "late"), [(at(4, 16), False), (at(5, 8), True)])
def test_a_delivery_after_its_j_plus_n_day_is_late(delivered: datetime, late: bool) -> None:
    s = shipment()
    apply_event(s, event(T.DELIVERED, delivered), NOW)
    assert s.late is late
    assert s.overdue(date(2026, 11, 9)) is False  # delivered: never overdue


def test_a_shipment_under_way_past_its_day_is_overdue() -> None:
    s = shipment(S.PICKED_UP)
    assert (s.overdue(date(2026, 11, 4)), s.overdue(date(2026, 11, 5))) == (False, True)


def test_shipment_ids_name_their_dossier() -> None:
    assert shipment_id(D, ShipmentKind.RETURN, 2) == f"{D}-R2"
    assert dossier_of(f"{D}-P1") == D
    assert dossier_of("not-ours") is None
    assert dossier_of(f"{D}-X1") is None
