"""Sample events of any registered type, for tests: payload fields not given get a plain value of their type."""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import UTC, date, datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Any

from chalicelib.domain.events import DomainEvent, DossierChanged, DossierSubmitted, EventType, Payload, spec_of

AT = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)  # 10:00 on Thursday 5 November 2026 in Vietnam
EVENT_ID = "0000019a5c2e3f00" + "e" * 16  # shaped as `chalicelib.ids.new_id` makes them: the schemas say so
DOSSIER_ID = "0000019a5c2e3f00" + "d" * 16


def nth_event_id(n: int) -> str:
    """The `n`-th of a run of distinct, well-shaped event ids."""
    return f"{n:032x}"


# Payload fields whose schema wants more than any string: agency codes (the counters build keys from them).
SHAPED: dict[str, Any] = {"from_agency": "T46.X01", "to_agency": "T46.X02", "gateway": "vnpay", "via": "online",
                          "method": "online", "shipment_id": f"{DOSSIER_ID}-P1", "partner": "vnpost"}


def _plain(kind: Any) -> Any:
    if isinstance(kind, UnionType):
        (kind,) = [member for member in typing.get_args(kind) if member is not NoneType]
    if isinstance(kind, type) and issubclass(kind, Enum):
        return next(iter(kind))
    plain: dict[Any, Any] = {str: "x", int: 1, bool: True, datetime: AT, date: AT.date()}
    return plain[kind]


def payload(event_type: str, **given: Any) -> Payload:
    """The payload of `event_type`'s row, typed, from the values given (JSON-like or typed) and plain ones."""
    kind = spec_of(event_type).payload
    hints = typing.get_type_hints(kind)
    values = {f.name: given.get(f.name, SHAPED.get(f.name, _plain(hints[f.name]))) for f in fields(kind)}
    return kind.from_json({name: _json(value) for name, value in values.items()})


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):  # and datetime
        return value.isoformat()
    return value


def changed(
    event_type: str,
    *,
    on_time: bool | None = None,
    channel: str = "online",
    event_id: str = EVENT_ID,
    at: datetime = AT,
    path: tuple[str, ...] = ("T46", "T46.X01"),
    level: str = "commune",
    **attributes: Any,
) -> DossierChanged:
    return DossierChanged(
        event_type=event_type, event_id=event_id, occurred_at=at, dossier_id=DOSSIER_ID,
        dossier_code="T46.X01-261105-0001", procedure_code="1.001193", agency_code=path[-1], agency_path=path,
        agency_level=level, channel=channel, online_form="full", from_status="processing", status="processing",
        status_code=4, on_time=on_time, payload=payload(event_type, **attributes),
    )


def submitted(
    event_id: str = EVENT_ID,
    *,
    at: datetime = AT,
    path: tuple[str, ...] = ("T46", "T46.X01"),
    level: str = "commune",
    channel: str = "online",
    form: str = "full",
) -> DossierSubmitted:
    return DossierSubmitted(
        event_id=event_id, occurred_at=at, dossier_id=DOSSIER_ID, dossier_code="T46.X01-261105-0001",
        procedure_code="1.001193", agency_code=path[-1], agency_path=path, agency_level=level, channel=channel,
        online_form=form, applicant_kind="citizen", status="registered", status_code=1, fees_total=0,
    )


def sample(event_type: str, **changes: Any) -> DomainEvent:
    """One event of `event_type`, whatever its row."""
    return submitted(**changes) if event_type == EventType.DOSSIER_SUBMITTED else changed(event_type, **changes)
