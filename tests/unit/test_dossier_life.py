"""The cost section's accounting (`bench.aws_usage`, `bench.dossier_life`): billing units from requests and answers,
and the arithmetic."""

from __future__ import annotations

import json

import pytest

from bench import prices
from bench.aws_usage import AWS_REQUEST_MS, CHUNK, Usage, Waited, chunks, entry_size, rules_matched
from bench.dossier_life import gb_seconds, per_dossier
from chalicelib import topology
from chalicelib.domain.events import EVENTS, handled_by
from chalicelib.store.models import DevOutboxModel
from infra.local.stack import STAGE

DOSSIERS = topology.DOSSIERS.physical(STAGE)
COUNTERS = topology.COUNTERS.physical(STAGE)


@pytest.mark.parametrize(("size", "expected"), [(0, 1), (1, 1), (CHUNK, 1), (CHUNK + 1, 2), (3 * CHUNK, 3)])
def test_eventbridge_and_sqs_bill_each_64_kb_as_one(size: int, expected: int) -> None:
    assert chunks(size) == expected


def test_an_entry_is_metered_by_its_source_type_detail_resources_and_time() -> None:
    entry = {"Source": "dvc.dossiers", "DetailType": "DossierSubmitted", "Detail": json.dumps({"a": "ố"})}
    bare = len(b"dvc.dossiers") + len(b"DossierSubmitted") + len(json.dumps({"a": "ố"}).encode())
    assert entry_size(entry) == bare
    assert entry_size({**entry, "Time": "2026-11-26T00:00:00Z", "Resources": ["arn:x"]}) == bare + 14 + 5


@pytest.mark.parametrize("event_type", [spec.name for spec in EVENTS])
def test_an_event_goes_to_a_queue_for_each_consumer_that_handles_it(event_type: str) -> None:
    consumers = [rule for rule in topology.RULES if event_type in handled_by(rule.consumer)]
    assert rules_matched({"Source": topology.EVENT_SOURCE, "DetailType": event_type}) == len(consumers)
    assert rules_matched({"Source": "someone.else", "DetailType": event_type}) == 0


def test_capacity_is_read_from_the_answers_by_table_and_kind() -> None:
    usage = Usage()
    usage.record("dynamodb", "TransactWriteItems", {"TransactItems": []},
                 {"ConsumedCapacity": [{"TableName": DOSSIERS, "CapacityUnits": 20.0},
                                       {"TableName": COUNTERS, "CapacityUnits": 4.0}]})
    usage.record("dynamodb", "GetItem", {"TableName": DOSSIERS},
                 {"ConsumedCapacity": {"TableName": DOSSIERS, "CapacityUnits": 0.5}})
    usage.record("dynamodb", "PutItem", {"Item": {"pk": {"S": DevOutboxModel.pk.default}}},
                 {"ConsumedCapacity": {"TableName": "x", "CapacityUnits": 9.0}})  # local stage only: left out
    usage.refused("dynamodb", "TransactWriteItems", {"TransactItems": [{}, {}, {}]})
    assert dict(usage.write_units) == {"dossiers": 20.0, "counters": 4.0}
    assert dict(usage.read_units) == {"dossiers": 0.5}
    assert usage.failed_write_units == 6.0 and usage.local_only == 1
    assert usage.dynamodb_requests == {"TransactWriteItems": 2, "GetItem": 1}


def test_sqs_requests_count_chunks_and_leave_empty_polls_and_local_retries_apart() -> None:
    usage = Usage()
    usage.record("sqs", "ReceiveMessage", {}, {"Messages": [{"Body": "x" * CHUNK}, {"Body": "y"}]})
    usage.record("sqs", "ReceiveMessage", {}, {})
    usage.record("sqs", "DeleteMessageBatch", {"Entries": [{"Id": "1"}]}, {})
    usage.record("sqs", "ChangeMessageVisibility", {}, {})
    usage.record("events", "PutEvents", {"Entries": [
        {"Source": topology.EVENT_SOURCE, "DetailType": topology.EventType.DOSSIER_SUBMITTED, "Detail": "{}"}]}, {})
    assert usage.sqs_requests == {"ReceiveMessage": 2, "DeleteMessageBatch": 1} and usage.idle_receives == 1
    assert (usage.entries, usage.entry_chunks) == (1, 1)
    assert usage.deliveries == len([r for r in topology.RULES
                                    if topology.EventType.DOSSIER_SUBMITTED in handled_by(r.consumer)])


def test_gb_seconds_round_each_invocation_up_to_the_millisecond_at_its_memory() -> None:
    memory = {"api": 1024, "relay": 512}.__getitem__
    assert gb_seconds({"api": [1.2, 998.5], "relay": [1000.0]}, memory) == pytest.approx(0.002 + 0.999 + 0.5)


def test_invocation_time_on_aws_replaces_what_the_local_engines_took() -> None:
    usage = Usage()
    usage.invoked("api", 300.0, Waited(requests=4, ms=250.0))
    assert usage.durations_ms["api"] == [300.0]
    assert usage.estimated_ms["api"] == [50.0 + 4 * AWS_REQUEST_MS]


def test_the_cost_per_million_dossiers_is_each_quantity_times_its_list_price() -> None:
    usage = Usage()
    usage.write_units["dossiers"] = 30.0
    usage.read_units["dossiers"] = 8.0
    usage.entry_chunks, usage.deliveries = 6, 10
    usage.sqs_requests["ReceiveMessage"] = 4
    usage.other["ses.SendEmail"] = 2
    usage.invoked("api", 100.0, Waited())
    usage.invoked("api", 100.0, Waited())
    figures = per_dossier(usage, 2, memory=lambda function: 1024)
    q, cost = figures.quantities, figures.costs
    assert (q["wru"], q["rru"], q["events"], q["sqs_requests"], q["emails"]) == (15.0, 4.0, 3.0, 7.0, 1.0)
    assert (q["api_requests"], q["invocations"], q["gb_seconds"]) == (1.0, 1.0, pytest.approx(0.1))
    assert cost["wru"] == pytest.approx(15 * prices.DYNAMODB_WRU.usd)  # 15M WRU at the price of 1M
    assert cost["sqs_requests"] == pytest.approx(7 * prices.SQS_REQUEST.usd)
    assert cost["emails"] == pytest.approx(1e6 / 1000 * prices.SES_EMAIL.usd)
    assert cost["gb_seconds"] == pytest.approx(0.1 * 1e6 * prices.LAMBDA_GB_SECOND.usd)
    assert cost["api_requests"] == pytest.approx(prices.API_GATEWAY_REST.usd)
