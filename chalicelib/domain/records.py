"""Domain dataclasses as plain JSON-able records and back, driven by their own field types (one field list).

The dossier's fields are written once, in its dataclass; the store's item and the API's view are built from the
record this module makes of it, so adding a field is one line in the dataclass (plus the item's attribute and the
view's schema, which are contracts of their own). Instants become ISO-8601 UTC text with a `Z`, enums their value,
tuples and lists JSON arrays, nested dataclasses objects; reading back follows the type hints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from .events import iso_utc

T = TypeVar("T")


def encode(value: Any) -> Any:
    """`value` as JSON-able data."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):  # a business day (a shipment's J+n day)
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted(encode(item) for item in value)
    return value


def to_record(instance: Any, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The dataclass `instance` as a record: one key per field, less `leave_out` (transient fields)."""
    return {f.name: encode(getattr(instance, f.name)) for f in dataclasses.fields(instance) if f.name not in leave_out}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(hint: Any, value: Any) -> Any:
    """`value` read back as the type `hint` names."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return decode(inner, value)
    if origin is tuple:
        (inner, *_) = typing.get_args(hint)
        return tuple(decode(inner, item) for item in value)
    if origin is list:
        (inner,) = typing.get_args(hint)
        return [decode(inner, item) for item in value]
    if origin is frozenset:
        (inner,) = typing.get_args(hint)
        return frozenset(decode(inner, item) for item in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_record(hint, value)
    if hint is int and isinstance(value, Decimal | float | str):
        return int(value)  # DynamoDB numbers come back as Decimal
    return value


def from_record(cls: type[T], record: dict[str, Any]) -> T:
    """An instance of the dataclass `cls` from its record; fields missing from the record take their defaults."""
    hints = _hints(cls)  # type: ignore[arg-type]  # a class is hashable; mypy cannot see it through the TypeVar
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    return cls(**{f.name: decode(hints[f.name], record[f.name]) for f in fields if f.name in record})
