"""Event schemas are bounded too (defence in depth): every string of every event detail the registry publishes.

The relay and the counters consumer check each detail against its type's schema before anything else; the
counters consumer builds DynamoDB keys from `agency_path`, so one oversized or odd code let through fails a
whole batch. These tests keep every string of those schemas bounded and shaped like the ids we generate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.events import EVENTS, EventType, iso_utc
from chalicelib.domain.vocabulary import Status
from chalicelib.ids import new_id
from chalicelib.validation import load_schema, validate
from tests import samples


def event_schemas() -> list[str]:
    """Every schema an event detail is checked against: the registry's rows and the schemas they `$ref`."""
    names: set[str] = set()
    pending = [spec.schema for spec in EVENTS]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            pending += [ref for ref in refs(load_schema(name)) if not ref.startswith("#")]
    return sorted(names)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def typed_nodes(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any], set[str]]]:
    """Each subschema with a `type`, and its types as a set (`["string", "null"]` is a string too)."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind is not None:
            yield path, node, set(kind) if isinstance(kind, list) else {kind}
        for key, value in node.items():
            yield from typed_nodes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from typed_nodes(value, f"{path}[{i}]")


def test_the_registry_lists_the_common_schema_too() -> None:
    assert "dossier-change.v1.json" in event_schemas() and "dossier-submitted.v1.json" in event_schemas()


@pytest.mark.parametrize("schema_name", event_schemas())
def test_every_event_string_is_bounded_and_every_pattern_anchored(schema_name: str) -> None:
    for path, node, types in typed_nodes(load_schema(schema_name)):
        if "string" in types and "enum" not in node and "const" not in node:
            assert "maxLength" in node, f"{schema_name} {path}: no maxLength"
            pattern = node.get("pattern")
            assert pattern is None or (pattern.startswith("^") and pattern.endswith("$")), f"{schema_name} {path}"
        if "array" in types:
            assert "maxItems" in node, f"{schema_name} {path}: no maxItems"


def test_statuses_are_the_status_values() -> None:
    common, submitted = load_schema("dossier-change.v1.json"), load_schema("dossier-submitted.v1.json")
    values = [s.value for s in Status]
    assert common["properties"]["status"]["enum"] == common["properties"]["from_status"]["enum"] == values
    assert submitted["properties"]["status"]["enum"] == values


# --- the ids we generate pass; anything else is refused ---------------------------------------------------


def test_every_shape_of_event_id_we_generate_passes() -> None:
    event_id, dossier_id = new_id(), new_id()
    due = iso_utc(samples.AT)
    validate("dossier-submitted.v1.json", replace(samples.submitted(event_id), dossier_id=dossier_id).detail())
    shapes = [
        (EventType.RESULT_READY, event_id),  # an action's: `new_id()`
        (EventType.DOSSIER_RECEIVED, f"{event_id}:received"),  # the receipt after a submission or a receive action
        (EventType.DOSSIER_DUE_SOON, f"{EventType.DOSSIER_DUE_SOON}:{dossier_id}:{due}"),  # the deadline watch's
        (EventType.DOSSIER_OVERDUE, f"{EventType.DOSSIER_OVERDUE}:{dossier_id}:{due}"),
    ]
    for event_type, shaped in shapes:
        event = replace(samples.changed(event_type, event_id=shaped), dossier_id=dossier_id)
        validate(event.schema, event.detail())


def refused(event_type: str, **changes: Any) -> None:
    event = samples.sample(event_type)
    detail = {**event.detail(), **changes}
    with pytest.raises(ValidationError):
        validate(event.schema, detail)


@pytest.mark.parametrize("event_type", [EventType.DOSSIER_SUBMITTED, EventType.RESULT_RETURNED])
@pytest.mark.parametrize(
    "changes",
    [
        {"agency_path": ["T46", "X" * 41]},
        {"agency_path": ["T46", "t46.x01"]},
        {"agency_path": ["T46"] * 9},
        {"agency_code": "t46.x01"},
        {"dossier_id": "d" * 33},
        {"dossier_id": "dos-1"},
        {"procedure_code": "1.0011930"},
        {"event_id": "e" * 129},
        {"event_id": "evt-00000001"},
        {"status": "teleported"},
        {"dossier_code": "T46.X01-261105-" + "1" * 100},
        {"occurred_at": "2026-11-05T03:00:00." + "0" * 100 + "Z"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_an_oversized_or_misshapen_field_is_refused(event_type: str, changes: dict[str, Any]) -> None:
    refused(event_type, **changes)


@pytest.mark.parametrize(
    ("event_type", "attributes"),
    [
        (EventType.DOSSIER_REFUSED, {"reason": "x" * 2001}),
        (EventType.PROCESSING_STOPPED, {"reason": "x" * 2001}),
        (EventType.DOSSIER_REFUSED_AT_DOOR, {"reason": "x" * 2001}),
        (EventType.DOSSIER_WITHDRAWN, {"reason": "x" * 2001}),
        (EventType.SUPPLEMENT_REQUESTED, {"missing": "x" * 2001, "supplement_count": 1}),
        (EventType.DOSSIER_TRANSFERRED, {"from_agency": "T46.X01", "to_agency": "x" * 41}),
    ],
)
def test_free_text_and_codes_in_attributes_are_bounded(event_type: str, attributes: dict[str, Any]) -> None:
    refused(event_type, attributes=attributes)


@pytest.mark.parametrize("field", ["actor_id", "actor_name"])
def test_actor_fields_are_bounded(field: str) -> None:
    refused(EventType.RESULT_RETURNED, **{field: "a" * 201})


def test_a_trailing_newline_is_no_agency_code_through_the_common_schema() -> None:
    """Across a file `$ref`, jsonschema chose its validator class by `$schema`, dropping the ECMA `pattern`; the
    registry now holds the schemas without it (chalicelib/validation.py `_ours`)."""
    refused(EventType.RESULT_RETURNED, agency_path=["T46", "T46.X01\n"])


def test_a_trailing_newline_is_no_agency_code_in_the_common_schema_itself() -> None:
    detail = {**samples.sample(EventType.RESULT_RETURNED).detail(), "agency_path": ["T46", "T46.X01\n"]}
    with pytest.raises(ValidationError):
        validate("dossier-change.v1.json", detail)
