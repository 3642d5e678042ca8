"""The headline figures the counters consumer emits as CloudWatch embedded metrics, for the events it counted now
(issue 12, point 8): the administrators' dashboard shows them live, by tier."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.bootstrap import container
from chalicelib.domain.counting import fold, headline
from chalicelib.domain.events import EventType
from chalicelib.metric_names import COMPLIANCE_NAMESPACE
from chalicelib.services.counting import IncomingEvent, count_batch
from tests import samples
from tests.fakes import InMemoryCounters


def test_headline_figures_by_tier() -> None:
    events = [
        samples.submitted("e1", channel="online"), samples.submitted("e2", channel="direct"),
        samples.submitted("e3", channel="online", path=("T46", "T46.03"), level="province"),
        samples.changed(EventType.RESULT_READY, event_id="e4", on_time=False),
        samples.changed(EventType.PAYMENT_SUCCEEDED, event_id="e5", via="online", first_online_payment=True),
        samples.changed(EventType.DESK_PAYMENT_RECORDED, event_id="e6", gateway="desk", via="desk", method="cash",
                        first_online_payment=False),
        samples.changed(EventType.DOSSIER_DUE_SOON, event_id="e7"),  # moves no counter: no figure
    ]
    assert headline(events) == {
        ("DossiersFiled", "commune"): 2, ("DossiersFiledOnline", "commune"): 1,
        ("DossiersFiled", "province"): 1, ("DossiersFiledOnline", "province"): 1,
        ("FinishedLate", "commune"): 1,
        ("PaymentTransactions", "commune"): 2, ("PaymentTransactionsOnline", "commune"): 1,
        ("DossiersPaidOnline", "commune"): 1,
    }


def _emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_the_consumer_emits_only_what_it_counted_now(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.handlers.events import emit_headline

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    counters = InMemoryCounters()
    details = [samples.submitted(samples.nth_event_id(i), channel="online").detail() for i in range(3)]
    batch = [IncomingEvent(f"m{i}", d["event_type"], d) for i, d in enumerate(details)]
    first = count_batch(batch + batch[:1], counters)  # one of them twice in the batch
    assert len(first.applied) == 3
    emit_headline(first.applied)
    (filed, online) = sorted(_emitted(capsys), key=lambda m: str(m["_aws"]["CloudWatchMetrics"][0]["Metrics"]))
    assert filed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == COMPLIANCE_NAMESPACE
    assert (filed["DossiersFiled"], filed["tier"], online["DossiersFiledOnline"]) == ([3.0], "commune", [3.0])
    assert filed["stage"] == online["stage"] == container().settings.stage  # stages never mix their figures
    again = count_batch(batch, counters)  # redelivered: counted before, so nothing to show either
    assert again.applied == [] and fold([]) == {}
    emit_headline(again.applied)
    assert _emitted(capsys) == []
