"""The event registry: every type has one row, a schema that matches its payload, and a consumer that handles it."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields, replace
from datetime import date
from typing import Any

import pytest

from chalicelib import topology
from chalicelib.domain.actions import EVENT_OF
from chalicelib.domain.counting import field_value, metrics_of
from chalicelib.domain.events import (
    COUNT_FINISHED,
    EVENTS,
    Apology,
    Consumer,
    DossierChanged,
    DossierSubmitted,
    EventSpec,
    EventType,
    Notify,
    Rated,
    Reason,
    ResultHandedOver,
    from_detail,
    handled_by,
    known_schema,
    spec_of,
)
from chalicelib.domain.kpi import LIFECYCLE_METRICS
from chalicelib.domain.lifecycle import ENDS_PROCESSING, TRANSITIONS
from chalicelib.domain.metrics import FILED, FINISHED, NOT_LIFECYCLE, RATED
from chalicelib.domain.vocabulary import Rating, ResultDelivery
from chalicelib.validation import SCHEMA_DIR, load_schema, validate
from tests import samples

ROWS = {spec.name: spec for spec in EVENTS}
NAMES = sorted(value for key, value in vars(EventType).items() if key.isupper())
BASE_SCHEMA = "dossier-change.v1.json"  # the detail every change shares; each type's schema refers to it
NOT_YET_DEPLOYED: set[Consumer] = set()  # a consumer's issue adds its rule and takes it out of here


EVOLVED = {EventType.FEES_REQUESTED, EventType.RESULT_READY}
"""Event types whose payload gained a field after events of it were published (FeesRequested: `reason`; ResultReady:
`digitised`)."""


def by_name(spec: EventSpec) -> str:
    return spec.name


def event_schemas() -> set[str]:
    """Every schema file that describes an event's detail: it pins `event_type` to one name."""
    found = set()
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        if "const" in schema.get("properties", {}).get("event_type", {}):
            found.add(path.name)
    return found


def test_every_event_type_has_exactly_one_row() -> None:
    assert len(EVENTS) == len(ROWS)  # no name twice
    assert sorted(ROWS) == NAMES


def test_no_schema_file_describes_an_event_type_without_a_row() -> None:
    assert event_schemas() == {spec.schema for spec in EVENTS}


@pytest.mark.parametrize("spec", EVENTS, ids=by_name)
def test_a_row_names_its_schema_file_and_the_file_pins_its_type(spec: EventSpec) -> None:
    assert (SCHEMA_DIR / spec.schema).is_file(), f"{spec.name}: no {spec.schema}"
    schema = load_schema(spec.schema)
    assert schema["$id"] == spec.schema
    assert schema["properties"]["event_type"] == {"const": spec.name}
    assert known_schema(spec.name) == spec.schema == spec_of(spec.name).schema


@pytest.mark.parametrize("spec", EVENTS, ids=by_name)
def test_a_payload_is_what_its_schema_says(spec: EventSpec) -> None:
    names = [f.name for f in fields(spec.payload)]
    schema = load_schema(spec.schema)
    if spec.name == EventType.DOSSIER_SUBMITTED:  # the v1 shape: its payload sits at the top level
        assert set(names) <= set(schema["required"])
        return
    assert schema["$ref"] == BASE_SCHEMA
    attributes = schema["properties"]["attributes"]
    assert attributes["additionalProperties"] is False
    assert sorted(attributes.get("properties", {})) == sorted(names)
    # a field added to a payload after its first events has a default, and archived events may lack it
    added_later = [f.name for f in fields(spec.payload) if f.default is not MISSING and spec.name in EVOLVED]
    assert sorted(attributes.get("required", [])) == sorted(set(names) - set(added_later))


@pytest.mark.parametrize("spec", EVENTS, ids=by_name)
def test_an_event_passes_its_schema_and_reads_back_the_same(spec: EventSpec) -> None:
    event = samples.sample(spec.name)
    assert event.event_type == spec.name
    assert event.schema == spec.schema
    detail = event.detail()
    validate(spec.schema, json.loads(json.dumps(detail)))
    assert from_detail(detail) == event
    assert from_detail(detail).payload == event.payload


@pytest.mark.parametrize("spec", EVENTS, ids=by_name)
def test_every_label_a_row_counts_by_is_a_field_of_its_event(spec: EventSpec) -> None:
    kind = DossierSubmitted if spec.name == EventType.DOSSIER_SUBMITTED else DossierChanged
    known = {f.name for f in fields(kind)} | {f.name for f in fields(spec.payload)}
    for count in spec.counts:
        assert {name for _, name in count.labels} <= known, f"{spec.name}: {count}"
    verdict = {"on_time": True} if COUNT_FINISHED in spec.counts else {}
    event = samples.sample(spec.name, **verdict)
    fed = [count for count in spec.counts if count.when is None or field_value(event, count.when) is True]
    assert len(metrics_of(event)) == len(fed)


# --- consumers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", EVENTS, ids=by_name)
def test_every_event_type_has_a_consumer_that_handles_it(spec: EventSpec) -> None:
    assert spec.consumers, f"{spec.name}: counted by nothing and told to nobody, so no one would ever read it"


def test_one_rule_per_deployed_consumer() -> None:
    deployed = [rule.consumer for rule in topology.RULES]
    assert len(deployed) == len(set(deployed))
    assert set(deployed) | NOT_YET_DEPLOYED == set(Consumer)
    assert not set(deployed) & NOT_YET_DEPLOYED


def test_the_counters_rule_routes_exactly_the_counted_types() -> None:
    counted = [spec.name for spec in EVENTS if spec.counts]
    assert topology.COUNTERS_RULE.pattern == {"source": [topology.EVENT_SOURCE], "detail-type": counted}
    assert list(handled_by(Consumer.COUNTERS)) == counted


# --- the rows' rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(EVENT_OF), ids=lambda action: action.value)
def test_an_action_that_ends_processing_counts_its_verdict(action: Any) -> None:
    rule = TRANSITIONS[action]  # returning a result ends nothing: it was ready, so processing had ended
    ends = rule.target in ENDS_PROCESSING and not rule.sources <= ENDS_PROCESSING
    assert (COUNT_FINISHED in spec_of(EVENT_OF[action]).counts) == ends


@pytest.mark.parametrize("action", list(EVENT_OF), ids=lambda action: action.value)
def test_the_applicant_hears_of_every_change_of_status(action: Any) -> None:
    if TRANSITIONS[action].target is not None:
        assert spec_of(EVENT_OF[action]).notifies_applicant


def test_deadline_warnings_are_for_officers_only() -> None:
    for name in (EventType.DOSSIER_DUE_SOON, EventType.DOSSIER_OVERDUE):
        assert spec_of(name).notify is Notify.OFFICERS
        assert not spec_of(name).notifies_applicant


def test_the_report_shows_a_lifecycle_count_for_every_metric_the_rows_feed() -> None:
    assert set(LIFECYCLE_METRICS) >= {  # the report's counts before the registry existed, and any a new row adds
        "received", "not_received", "supplement_requested", "processed", "stopped", "withdrawn", "returned",
        "apologies", "transferred_in", "rated_satisfied", "rated_unsatisfied", "finished_on_time", "finished_late",
    }
    plain = {count.name for spec in EVENTS for count in spec.counts if count.name not in (FILED, FINISHED, RATED)}
    assert plain - NOT_LIFECYCLE <= set(LIFECYCLE_METRICS)  # the payment and index figures are shown apart
    assert not NOT_LIFECYCLE & set(LIFECYCLE_METRICS)


# --- typed payloads --------------------------------------------------------------------------------------


def test_a_change_refuses_a_payload_of_another_type() -> None:
    with pytest.raises(TypeError, match="ResultReturned carries ResultHandedOver, not Reason"):
        replace(samples.changed(EventType.RESULT_RETURNED), payload=Reason("x"))
    with pytest.raises(TypeError, match="DossierSubmitted"):
        replace(samples.changed(EventType.DOSSIER_RECEIVED), event_type=EventType.DOSSIER_SUBMITTED)


def test_payload_fields_are_typed_on_the_event_and_plain_on_the_bus() -> None:
    returned = samples.changed(EventType.RESULT_RETURNED, via="post")
    rated = samples.changed(EventType.DOSSIER_RATED, rating="unsatisfied")
    apology = samples.changed(EventType.APOLOGY_ISSUED, new_appointment_date="2026-11-20")
    assert isinstance(returned.payload, ResultHandedOver) and returned.payload.via is ResultDelivery.POST
    assert isinstance(rated.payload, Rated) and rated.payload.rating is Rating.UNSATISFIED
    assert isinstance(apology.payload, Apology) and apology.payload.new_appointment_date == date(2026, 11, 20)
    assert returned.detail()["attributes"] == {"via": "post"}
    assert apology.detail()["attributes"] == {"new_appointment_date": "2026-11-20"}
    assert [str(m) for m in metrics_of(returned)] == ["returned|via=post"]
