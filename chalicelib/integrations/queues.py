"""Reports to a dead-letter queue the function writes itself: a notice no provider would take."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import UpstreamUnavailableError

UNAVAILABLE = "Hàng đợi lỗi tạm thời không phản hồi. (The failure queue is unavailable; retry.)"


class SqsDeadLetters:
    def __init__(self, client: Any, queue_name: str) -> None:
        self._client = client
        self._queue_name = queue_name
        self._url: str | None = None

    def report(self, entry: Mapping[str, Any]) -> None:
        try:
            if self._url is None:
                self._url = str(self._client.get_queue_url(QueueName=self._queue_name)["QueueUrl"])
            self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(dict(entry), ensure_ascii=False))
        except (ClientError, BotoCoreError) as exc:
            raise UpstreamUnavailableError(UNAVAILABLE) from exc
