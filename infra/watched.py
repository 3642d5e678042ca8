"""What the alarms and the dashboard watch: a metric with its dimensions, named from one place.

Our metrics come from `chalicelib.metric_names` (what the functions emit); the functions, tables and queues from
`chalicelib.topology` through `infra.cloudformation`'s logical ids; AWS's own metrics from the table below (their
documented names and dimensions), checked when a `Watch` is made, so a misspelt one cannot be rendered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib import topology
from chalicelib.metric_names import STAGE_DIMENSION, MetricSpec
from infra import cloudformation as cfn
from infra.local.processes import ROOT

PERIOD_S = 300  # what an alarm evaluates and a graph plots, unless it says otherwise

# AWS's own metrics watched, as documented: namespace → metric → its dimensions.
LAMBDA, SQS, API_GATEWAY, DYNAMODB = "AWS/Lambda", "AWS/SQS", "AWS/ApiGateway", "AWS/DynamoDB"
AWS_METRICS: dict[str, dict[str, tuple[str, ...]]] = {
    LAMBDA: {"Errors": ("FunctionName",), "Throttles": ("FunctionName",), "IteratorAge": ("FunctionName",)},
    SQS: {"ApproximateNumberOfMessagesVisible": ("QueueName",), "ApproximateAgeOfOldestMessage": ("QueueName",)},
    API_GATEWAY: {"5XXError": ("ApiName", "Stage"), "4XXError": ("ApiName", "Stage"), "Latency": ("ApiName", "Stage"),
                  "Count": ("ApiName", "Stage")},
    DYNAMODB: {"ThrottledRequests": ("TableName", "Operation"), "SystemErrors": ("TableName", "Operation")},
}
# The DynamoDB operations the code calls (ThrottledRequests and SystemErrors exist only per operation): at most
# 10, the most metrics one alarm's expression may read.
DYNAMODB_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem",
                       "TransactGetItems", "TransactWriteItems")


@cache
def api_identity(stage: str) -> tuple[str, str]:
    """API Gateway's `ApiName` and `Stage` dimensions: Chalice names the REST API after the app (the swagger's title)
    and deploys it to the stage's `api_gateway_stage` (Chalice's default: `api`)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return str(config["app_name"]), str(config["stages"].get(stage, {}).get("api_gateway_stage", "api"))


@dataclass(frozen=True)
class Watch:
    """One metric an alarm or a graph reads."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, Any], ...]
    stat: str = "Sum"

    def __post_init__(self) -> None:
        documented = AWS_METRICS.get(self.namespace)
        names = tuple(name for name, _ in self.dimensions)
        if documented is not None and documented.get(self.name) != names:
            raise ValueError(f"{self.namespace} {self.name} by {names}: not a metric AWS documents")

    def metric(self) -> dict[str, Any]:
        return {"Namespace": self.namespace, "MetricName": self.name,
                "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions]}


def ours(spec: MetricSpec, stage: str, stat: str = "Sum", **dimensions: str) -> Watch:
    return Watch(spec.namespace, spec.name, ((STAGE_DIMENSION, stage), *dimensions.items()), stat)


def function_metric(function: str, name: str, stat: str = "Sum") -> Watch:
    return Watch(LAMBDA, name, (("FunctionName", {"Ref": cfn.function_id(function)}),), stat)


def queue_metric(logical_id: str, name: str) -> Watch:
    return Watch(SQS, name, (("QueueName", {"Fn::GetAtt": [logical_id, "QueueName"]}),), "Maximum")


def api_metric(stage: str, name: str, stat: str = "Sum") -> Watch:
    api_name, api_stage = api_identity(stage)
    return Watch(API_GATEWAY, name, (("ApiName", api_name), ("Stage", api_stage)), stat)


def table_operations(table: topology.TableSpec, stage: str, name: str) -> list[Watch]:
    return [Watch(DYNAMODB, name, (("TableName", table.physical(stage)), ("Operation", operation)))
            for operation in DYNAMODB_OPERATIONS]
