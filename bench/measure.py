"""What `make bench` measures with and prints to: percentiles, the summary table, botocore hooks, a quiet run."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

LABEL = 44  # the width of the table's first column


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Table:
    """The summary, written row by row as figures come in (to the terminal, while the run's chatter goes to a log)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.problems: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def header(self) -> None:
        self.line(f"{'':{LABEL}s}{'median':>12s}{'p95':>12s}{'n':>6s}")

    def latency(self, label: str, values: list[float]) -> None:
        median, p95 = statistics.median(values), percentile(values, 0.95)
        self.line(f"{label:{LABEL}s}{median:9.1f} ms{p95:9.1f} ms{len(values):6d}")

    def ratio(self, label: str, top: list[float], bottom: list[float]) -> None:
        median = statistics.median(top) / statistics.median(bottom)
        p95 = percentile(top, 0.95) / percentile(bottom, 0.95)
        self.line(f"{label:{LABEL}s}{median:10.2f}× {p95:10.2f}×")

    def figure(self, label: str, value: float, detail: str) -> None:
        self.line(f"{label:{LABEL}s}{value:9.3f}    {detail}")

    def check(self, ok: bool, passed: str, failed: str) -> None:
        """A condition the figures depend on: stated when it holds (unless `passed` is empty), failing the run if not."""
        if ok:
            if passed:
                self.line(f"check: {passed}")
        else:
            self.problems.append(failed)
            self.line(f"CHECK FAILED: {failed}")


class RequestCounter:
    """Counts DynamoDB API calls by operation, from botocore's own event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self)

    def take(self) -> dict[str, int]:
        """The counts so far, starting afresh."""
        taken = dict(sorted(self.calls.items()))
        self.calls.clear()
        return taken


class TransactionCounter:
    """Counts TransactWriteItems calls and their actions by kind (Put, Update, ConditionCheck, Delete)."""

    def __init__(self) -> None:
        self.transactions = 0
        self.actions: Counter[str] = Counter()

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.transactions += 1
        for action in params["TransactItems"]:
            self.actions.update(action.keys())

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self)

    def take(self) -> tuple[int, dict[str, int]]:
        """The counts so far, starting afresh."""
        taken = self.transactions, dict(self.actions)
        self.transactions = 0
        self.actions.clear()
        return taken


class SentTransactions:
    """The parameters of the last TransactWriteItems a client sent, as botocore is about to send them."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        self.last = copy.deepcopy(params)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self)

    def detach(self, client: Any) -> None:
        """Stop copying: the copy costs the client's calls time that is not theirs."""
        client.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", self)


class Published:
    """The events the relay got onto the bus (the entries PutEvents accepted): dossier id and when, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dossier_ids: list[str] = []
        self.at: dict[str, float] = {}  # dossier id -> time.perf_counter() when the bus accepted its event

    def attach(self, events_client: Any) -> None:
        events_client.meta.events.register("before-parameter-build.eventbridge.PutEvents", self._before)
        events_client.meta.events.register("after-call.eventbridge.PutEvents", self._after)

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_dossier_ids"] = [str(json.loads(e["Detail"]).get("dossier_id")) for e in params["Entries"]]

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        sent = context.get("bench_dossier_ids", [])
        accepted = [dossier for dossier, entry in zip(sent, parsed.get("Entries", []), strict=False)
                    if not entry.get("ErrorCode")]
        now = time.perf_counter()
        with self._lock:
            self._dossier_ids.extend(accepted)
            self.at.update(dict.fromkeys(accepted, now))

    def __len__(self) -> int:
        with self._lock:
            return len(self._dossier_ids)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self._dossier_ids[mark:]


@contextlib.contextmanager
def quiet(log_path: Path) -> Iterator[TextIO]:
    """Send whatever the run prints (request lines, poller notes, log records) to a log file instead of the
    terminal; yields the terminal, for the summary."""
    terminal = sys.stdout
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield terminal


def warnings_only() -> None:
    """Every logger made so far (Powertools', Chalice's, pynamodb's, botocore's) keeps only warnings and errors:
    an INFO line per batch and per request is chatter here, and costs time inside the figures."""
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.WARNING)
