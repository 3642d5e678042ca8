"""Create the stage's tables, queues, bus, rules and buckets from `chalicelib.topology` through the AWS APIs.

Used by the local stack against DynamoDB Local and moto's server; idempotent, so `make run` can restart on
persistent data. The deployed stack gets the same resources from `infra/cloudformation.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib import topology


@dataclass
class Provisioned:
    stream_arns: dict[str, str] = field(default_factory=dict)  # table logical name -> stream ARN
    queue_urls: dict[str, str] = field(default_factory=dict)  # queue logical name -> URL
    dlq_urls: dict[str, str] = field(default_factory=dict)


def table_definition(spec: topology.TableSpec, stage: str) -> dict[str, Any]:
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    definition: dict[str, Any] = {
        "TableName": spec.physical(stage),
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(spec.attributes.items())],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    if spec.stream_view:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream_view}
    return definition


def ensure_tables(dynamodb: Any, stage: str, result: Provisioned) -> None:
    existing = set(dynamodb.list_tables()["TableNames"])
    for spec in topology.TABLES:
        name = spec.physical(stage)
        if name in existing:
            _add_missing_indexes(dynamodb, spec, stage)  # data kept by `make run` from an older version
        else:
            dynamodb.create_table(**table_definition(spec, stage))
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            if spec.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
                )
        if spec.stream_view:
            result.stream_arns[spec.logical] = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def _add_missing_indexes(dynamodb: Any, spec: topology.TableSpec, stage: str) -> None:
    name = spec.physical(stage)
    have = {i["IndexName"] for i in dynamodb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])}
    definition = table_definition(spec, stage)
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] not in have:
            dynamodb.update_table(
                TableName=name,
                AttributeDefinitions=definition["AttributeDefinitions"],
                GlobalSecondaryIndexUpdates=[{"Create": index}],
            )


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def ensure_queues(sqs: Any, stage: str, result: Provisioned) -> None:
    for spec in topology.QUEUES:
        dlq_url = sqs.create_queue(
            QueueName=spec.dlq_physical(stage), Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_s)}
        )["QueueUrl"]
        redrive = {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": str(spec.max_receive_count)}
        url = sqs.create_queue(
            QueueName=spec.physical(stage),
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout_s),
                "MessageRetentionPeriod": str(spec.retention_s),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        result.queue_urls[spec.logical] = url
        result.dlq_urls[spec.logical] = dlq_url


def ensure_bus(events: Any, sqs: Any, stage: str, result: Provisioned) -> None:
    bus = topology.bus_name(stage)
    if bus not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=bus)
    for rule in topology.RULES:
        events.put_rule(Name=rule.physical(stage), EventBusName=bus, EventPattern=json.dumps(rule.pattern))
        target_arn = _queue_arn(sqs, result.queue_urls[rule.queue.logical])
        events.put_targets(Rule=rule.physical(stage), EventBusName=bus, Targets=[{"Id": rule.queue.logical, "Arn": target_arn}])


def ensure_buckets(s3: Any, stage: str) -> None:
    region = s3.meta.region_name
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for spec in topology.BUCKETS:
        name = spec.physical(stage)
        if name in existing:
            continue
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":  # S3 refuses a LocationConstraint of us-east-1 and requires one elsewhere
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)


def ensure_email_identity(ses: Any, sender: str) -> None:
    """Verify the notices' sender domain (moto's SES refuses to send from an unverified one, as SES does); deployed,
    the province verifies its domain with DNS records once, outside the template."""
    ses.verify_domain_identity(Domain=sender.rpartition("@")[2])


def provision(stage: str, *, dynamodb: Any, sqs: Any, events: Any, s3: Any | None = None,
              ses: Any | None = None, email_sender: str = "") -> Provisioned:
    result = Provisioned()
    ensure_tables(dynamodb, stage, result)
    ensure_queues(sqs, stage, result)
    ensure_bus(events, sqs, stage, result)
    if s3 is not None:
        ensure_buckets(s3, stage)
    if ses is not None and email_sender:
        ensure_email_identity(ses, email_sender)
    return result
