"""The local queue poller gathers a batch as AWS's SQS mapping does: batch size, batching window, payload limit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib import topology
from infra.local.event_sources import LAMBDA_PAYLOAD_LIMIT_BYTES, QueuePoller
from infra.local.stack import REGION, LocalStack
from tests.support import wait_for


@dataclass
class Recorder:
    """A handler that keeps what each invocation received, and when."""

    invocations: list[tuple[float, list[str], int]] = field(default_factory=list)  # (at, bodies, payload bytes)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self.lock:
            self.invocations.append(
                (time.monotonic(), [r["body"] for r in event["Records"]], len(json.dumps(event, ensure_ascii=False).encode()))
            )
        return {"batchItemFailures": []}

    def bodies(self) -> list[list[str]]:
        with self.lock:
            return [bodies for _, bodies, _ in self.invocations]


@dataclass
class Rig:
    sqs: Any
    url: str
    recorder: Recorder
    poller: QueuePoller


@pytest.fixture(scope="module")
def stopping() -> Iterator[list[QueuePoller]]:
    """Pollers told to stop, joined together at the end: each may be inside a 1 s long poll."""
    pollers: list[QueuePoller] = []
    yield pollers
    for poller in pollers:
        poller.join(timeout=5)


@pytest.fixture
def rig(stack: LocalStack, stopping: list[QueuePoller], request: pytest.FixtureRequest) -> Iterator[Rig]:
    """A queue of its own and a poller on it, with the test's (batch size, batching window)."""
    batch_size, window_s = request.param
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"poller-test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = topology.QueueMapping(function="recorder", queue=topology.QueueSpec(logical="poller-test"),
                                    batch_size=batch_size, batching_window_s=window_s)
    recorder = Recorder()
    poller = QueuePoller(mapping, recorder, sqs=sqs, queue_url=url, queue_arn=arn, region=REGION)
    poller.start()
    try:
        yield Rig(sqs, url, recorder, poller)
    finally:
        poller.stop()
        stopping.append(poller)
        sqs.delete_queue(QueueUrl=url)  # a long poll under way still ends normally, then the poller sees stop()


def mapping(batch_size: int, window_s: int) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("rig", [(batch_size, window_s)], indirect=True, ids=[f"batch{batch_size}-window{window_s}s"])


def send(rig: Rig, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        rig.sqs.send_message_batch(QueueUrl=rig.url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])
        ])


@mapping(100, 1)
def test_messages_arriving_within_the_window_are_delivered_in_one_invocation(rig: Rig) -> None:
    first_sent = time.monotonic()
    for n in range(3):  # 0, 300 and 600 ms after the first
        if n:
            time.sleep(0.3)
        send(rig, [f"m{n}"])
    invocations = wait_for(rig.recorder.bodies, lambda got: sum(map(len, got)) >= 3, 5, 0.05)
    assert invocations == [["m0", "m1", "m2"]]
    waited = rig.recorder.invocations[0][0] - first_sent
    assert 0.95 <= waited < 3, f"invoked {waited:.2f} s after the first message, not when the 1 s window closed"


@mapping(25, 20)
def test_a_full_batch_is_delivered_without_waiting_for_the_window(rig: Rig) -> None:
    sent = time.monotonic()
    send(rig, [f"m{n}" for n in range(25)])  # more than one receive's 10 messages
    invocations = wait_for(rig.recorder.bodies, lambda got: bool(got), 10, 0.05)
    assert [sorted(bodies) for bodies in invocations] == [sorted(f"m{n}" for n in range(25))]
    assert rig.recorder.invocations[0][0] - sent < 10, "a full batch waited for the 20 s window"


@mapping(100, 8)
def test_a_batch_is_delivered_before_it_would_pass_the_payload_limit_and_the_rest_follows(rig: Rig) -> None:
    big = "x" * 250_000  # messages of a quarter megabyte
    sent = time.monotonic()
    for n in range(30):  # 7.5 MB, more than one invocation may carry; one by one, as a batch send is capped at 256 KiB
        rig.sqs.send_message(QueueUrl=rig.url, MessageBody=f"{n:02d}{big}")
    wait_for(rig.recorder.bodies, lambda got: sum(map(len, got)) >= 30, 20, 0.05)
    (first_at, first, payload), *rest = rig.recorder.invocations
    # A long window, so sending 7.5 MB on a loaded machine (seconds) cannot pass for it: the first batch went when
    # its payload was full, well before the window would have closed
    assert first_at - sent < 6, "the first batch waited for the 8 s window although its payload was full"
    assert LAMBDA_PAYLOAD_LIMIT_BYTES - 300_000 < payload <= LAMBDA_PAYLOAD_LIMIT_BYTES
    delivered = [body[:2] for body in first] + [body[:2] for _, bodies, _ in rest for body in bodies]
    assert sorted(delivered) == [f"{n:02d}" for n in range(30)]  # the messages past the limit come next, once
