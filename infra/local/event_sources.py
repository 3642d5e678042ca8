"""The event-source runner: polls the DynamoDB stream and the SQS queues and invokes the Chalice handlers.

Events are Lambda-shaped, as AWS's event-source mappings send them, with the batch sizes, batching windows,
filters, partial batch responses, retries and dead-letter destinations configured in `chalicelib.topology`.

Local liberties, all on timing or replay (the README lists them with their effect): a failed SQS message is
visible again after `retry_delay_s` instead of the queue's visibility timeout; stream retries are immediate and
a batch whose handler raises is retried whole, not bisected; stream checkpoints live in memory, so each start
reads every shard from TRIM_HORIZON again; idle pollers sleep `idle_sleep_s` between polls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import topology

Handler = Callable[[dict[str, Any], Any], Any]

# What one invocation may carry (Lambda's synchronous request payload); the queue mapping stops gathering before it.
LAMBDA_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024


def matches(pattern: Any, value: Any) -> bool:
    """Lambda/EventBridge filter semantics for the subset we use: nested objects, lists of allowed
    exact values, and `{"prefix": ...}`."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(key in value and matches(sub, value[key]) for key, sub in pattern.items())
    if isinstance(pattern, list):
        for option in pattern:
            if isinstance(option, dict) and "prefix" in option:
                if isinstance(value, str) and value.startswith(option["prefix"]):
                    return True
            elif option == value:
                return True
        return False
    return bool(pattern == value)


def _failed_ids(response: Any) -> set[str] | None:
    """Identifiers a partial batch response names; None when the handler's answer is not one."""
    if not isinstance(response, dict) or "batchItemFailures" not in response:
        return None
    return {str(item["itemIdentifier"]) for item in response["batchItemFailures"]}


class _Poller(threading.Thread):
    def __init__(self, name: str, idle_sleep_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()
        self._idle_sleep_s = idle_sleep_s
        self.invocations = 0
        self.errors = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                busy = self.poll_once()
            except Exception as exc:  # keep polling; AWS's mapping would retry too
                self.errors += 1
                print(f"[{self.name}] poll failed: {exc!r}", flush=True)
                busy = False
            if not busy:
                self._stop_event.wait(self._idle_sleep_s)

    def poll_once(self) -> bool:
        raise NotImplementedError


class StreamPoller(_Poller):
    """One DynamoDB stream → one handler. Reads every shard from its oldest record (at-least-once)."""

    def __init__(self, mapping: topology.StreamMapping, handler: Handler, *, streams: Any, sqs: Any,
                 stream_arn: str, dlq_url: str, region: str, idle_sleep_s: float = 0.2) -> None:
        super().__init__(f"stream:{mapping.function}", idle_sleep_s)
        self._mapping, self.handler = mapping, handler
        self._streams, self._sqs = streams, sqs
        self._arn, self._dlq_url, self._region = stream_arn, dlq_url, region
        self._iterators: dict[str, str | None] = {}
        self._checkpoints: dict[str, str] = {}  # shard -> last sequence number handed on

    def _iterator(self, shard_id: str) -> str:
        """From just after the checkpoint, or the oldest record of a shard not read yet."""
        checkpoint = self._checkpoints.get(shard_id)
        kwargs: dict[str, Any] = {"StreamArn": self._arn, "ShardId": shard_id}
        if checkpoint is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        return str(self._streams.get_shard_iterator(**kwargs)["ShardIterator"])

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._iterator(shard_id)

    def poll_once(self) -> bool:
        self._refresh_shards()
        busy = False
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue  # a closed shard, read to its end
            try:
                response = self._streams.get_records(ShardIterator=iterator, Limit=self._mapping.batch_size)
            except (self._streams.exceptions.TrimmedDataAccessException,
                    self._streams.exceptions.ExpiredIteratorException):
                # DynamoDB Local invalidates iterators taken on an empty shard; AWS expires them after 15 min.
                self._iterators[shard_id] = self._iterator(shard_id)
                continue
            records = [self._lambda_record(r) for r in response.get("Records", [])]
            batch = [r for r in records if matches(self._mapping.filter_pattern, r)]
            if batch:
                busy = True
                self._deliver(batch)
            if records:
                self._checkpoints[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            self._iterators[shard_id] = response.get("NextShardIterator")
        return busy

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            data["ApproximateCreationDateTime"] = created.timestamp()
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": data,
            "eventSourceARN": self._arn,
        }

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        """Invoke; on failure retry from the first failed record on, then send what still fails to the DLQ."""
        pending = batch
        for _attempt in range(self._mapping.max_retry_attempts + 1):
            self.invocations += 1
            try:
                failed = _failed_ids(self.handler({"Records": pending}, None))
            except Exception as exc:
                self.errors += 1
                print(f"[{self.name}] handler raised {exc!r}", flush=True)
                failed = {r["dynamodb"]["SequenceNumber"] for r in pending}
            if not failed:
                return
            first = min(i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] in failed)
            pending = pending[first:]
        self._sqs.send_message(
            QueueUrl=self._dlq_url,
            MessageBody=json.dumps({"requestContext": {"condition": "RetryAttemptsExhausted"},
                                    "records": pending}, default=str),
        )


class QueuePoller(_Poller):
    """One SQS queue → one handler, with the mapping's batching window and partial batch responses.

    As AWS's mapping does, it gathers messages until the batch is full, the batching window has passed since the
    first message arrived, or the next message would take the invocation's payload past its limit; then it invokes.
    """

    def __init__(self, mapping: topology.QueueMapping, handler: Handler, *, sqs: Any, queue_url: str,
                 queue_arn: str, region: str, retry_delay_s: int = 1, idle_sleep_s: float = 0.05,
                 gather_every_s: float = 0.05, payload_limit_bytes: int = LAMBDA_PAYLOAD_LIMIT_BYTES) -> None:
        super().__init__(f"queue:{mapping.function}", idle_sleep_s)
        self._mapping, self.handler, self._sqs = mapping, handler, sqs
        self._url, self._arn, self._region = queue_url, queue_arn, region
        self._retry_delay_s = retry_delay_s
        self._gather_every_s = gather_every_s
        self._payload_limit = payload_limit_bytes
        self._held: list[dict[str, Any]] = []  # received, but past the last invocation's payload limit

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }

    def _gather(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        payload = len('{"Records": []}')
        incoming, self._held = self._held, []
        window_ends = time.monotonic() + self._mapping.batching_window_s if incoming else None  # held: window starts now
        while True:
            for record in incoming:
                size = len(json.dumps(record, ensure_ascii=False).encode()) + 2
                if len(batch) >= self._mapping.batch_size or (batch and payload + size > self._payload_limit):
                    # Kept in flight for the next invocation: handing it back to the queue would count as one
                    # more receive towards the dead-letter queue's maxReceiveCount.
                    self._held.append(record)
                else:
                    batch.append(record)
                    payload += size
            if self._held or len(batch) >= self._mapping.batch_size:
                return batch
            if window_ends is None:
                wait_s = 1  # long poll for the first message; short enough for stop() to be prompt
            else:
                remaining = window_ends - time.monotonic()
                if remaining <= 0:
                    return batch
                wait_s = min(1, int(remaining))  # SQS waits whole seconds: never past the window's end
            incoming = [
                self._record(m)
                for m in self._sqs.receive_message(
                    QueueUrl=self._url,
                    MaxNumberOfMessages=min(10, self._mapping.batch_size - len(batch)),
                    WaitTimeSeconds=wait_s,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            ]
            if self._stop_event.is_set():
                return []  # what was taken becomes visible again after its visibility timeout, as on AWS
            if window_ends is None:
                if not incoming:
                    return []
                window_ends = time.monotonic() + self._mapping.batching_window_s
            elif not incoming and wait_s == 0:
                self._stop_event.wait(min(self._gather_every_s, max(0.0, window_ends - time.monotonic())))

    def poll_once(self) -> bool:
        records = self._gather()
        if not records:
            return False
        self.invocations += 1
        try:
            failed = _failed_ids(self.handler({"Records": records}, None))
        except Exception as exc:
            self.errors += 1
            print(f"[{self.name}] handler raised {exc!r}", flush=True)
            failed = {r["messageId"] for r in records}
        failed = failed or set()
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done[start:start + 10])],
            )
        for record in records:
            if record["messageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=self._retry_delay_s
                )
        return True
