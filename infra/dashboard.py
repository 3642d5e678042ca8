"""The administrators' CloudWatch dashboard for a stage: live compliance figures, then system health.

Its body is generated from the same metric specs the functions emit (`chalicelib.metric_names`) and the same
logical ids the template gives the functions and queues (`${Logical}` inside the body's `Fn::Sub`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalicelib import metric_names, topology
from chalicelib.metric_names import COMPLIANCE, TIER_DIMENSION, TIERS, Headline
from infra import cloudformation as cfn
from infra.watched import PERIOD_S, Watch, api_metric, function_metric, ours, queue_metric, table_operations

DASHBOARD_ID = "OperationsDashboard"

# --- widgets --------------------------------------------------------------------------------------------------

WIDTH = 24


def _metric_row(watch: Watch, **options: Any) -> list[Any]:
    row: list[Any] = [watch.namespace, watch.name]
    for name, value in watch.dimensions:
        row += [name, _sub_value(value)]
    return row + ([options] if options else [])


def _sub_value(value: Any) -> str:
    """A dimension value inside the dashboard's `Fn::Sub` text: a `Ref` or `GetAtt` as `${...}`."""
    if isinstance(value, dict) and "Ref" in value:
        return f"${{{value['Ref']}}}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return str(value)


def _graph(title: str, rows: list[list[Any]], *, width: int = 12, height: int = 6, view: str = "timeSeries",
           stat: str = "Sum", period: int = PERIOD_S, **extra: Any) -> dict[str, Any]:
    return {"type": "metric", "width": width, "height": height, "properties": {
        "title": title, "view": view, "region": "${AWS::Region}", "stat": stat, "period": period, "metrics": rows,
        **extra}}


def _text(markdown: str, height: int = 2) -> dict[str, Any]:
    return {"type": "text", "width": WIDTH, "height": height, "properties": {"markdown": markdown}}


def _share(label: str, part: Headline, whole: Iterable[Headline], stage: str, tier: str, n: int) -> list[list[Any]]:
    """`part` as a percentage of the sum of `whole`, for one tier: hidden inputs and one visible expression."""
    wanted = [part, *(w for w in whole if w != part)]
    ids = {figure: f"{figure.name.lower()}_{n}" for figure in wanted}
    rows = [_metric_row(ours(COMPLIANCE[figure], stage, **{TIER_DIMENSION: tier}), id=ids[figure], visible=False)
            for figure in wanted]
    total = "+".join(ids[w] for w in whole)
    return [*rows, [{"expression": f"100*{ids[part]}/({total})", "label": f"{label}, {tier} (%)", "id": f"share_{n}"}]]


def _compliance_widgets(stage: str) -> list[dict[str, Any]]:
    shares = [
        ("Filed online", Headline.DOSSIERS_FILED_ONLINE, (Headline.DOSSIERS_FILED,)),
        ("Finished on time", Headline.FINISHED_ON_TIME, (Headline.FINISHED_ON_TIME, Headline.FINISHED_LATE)),
        ("Fee payments made online", Headline.PAYMENT_TRANSACTIONS_ONLINE, (Headline.PAYMENT_TRANSACTIONS,)),
    ]
    widgets = [_text(
        "# Compliance, live\nShares over the time range chosen above, by tier, from the events counted as they "
        "happen. The exact monthly figures, against the province's targets for the period, are the KPI report "
        "(`GET /v1/reports/kpi`).", height=3)]
    for label, part, whole in shares:
        rows: list[list[Any]] = []
        for n, tier in enumerate(TIERS):
            rows += _share(label, part, whole, stage, tier, n)
        widgets.append(_graph(f"{label} (%)", rows, width=8, view="singleValue", setPeriodToTimeRange=True))
    counts = [_metric_row(ours(COMPLIANCE[figure], stage, **{TIER_DIMENSION: tier}), label=f"{figure.value}, {tier}")
              for figure in Headline for tier in TIERS]
    widgets.append(_graph("Dossiers, results and payments per day, by tier", counts, width=WIDTH, period=86400))
    return widgets


def _health_widgets(stage: str) -> list[dict[str, Any]]:
    functions = cfn.functions()
    relay = topology.RELAY_MAPPING.function
    consumed = [(cfn.queue_id(m.queue), m.queue.physical(stage)) for m in topology.QUEUE_MAPPINGS]
    failures = cfn.failure_queues(stage)
    ops = [_metric_row(ours(spec, stage)) for spec in metric_names.OPERATIONS]
    dynamo_rows: list[list[Any]] = []
    for n, table in enumerate(topology.TABLES):
        for kind in ("ThrottledRequests", "SystemErrors"):
            watches = table_operations(table, stage, kind)
            ids = [f"{kind.lower()}_{n}_{i}" for i in range(len(watches))]
            dynamo_rows += [_metric_row(w, id=i, visible=False) for w, i in zip(watches, ids, strict=True)]
            dynamo_rows.append([{"expression": "+".join(ids), "label": f"{table.physical(stage)} {kind}",
                                 "id": f"{kind.lower()}_{n}"}])
    return [
        _text("# System health\nEvery alarm of this stage notifies the alarm topic; the graphs show what they watch."),
        _graph("Function errors", [_metric_row(function_metric(f, "Errors"), label=f) for f in functions]),
        _graph("Function throttles", [_metric_row(function_metric(f, "Throttles"), label=f) for f in functions]),
        _graph("Relay: stream iterator age (ms)", [_metric_row(function_metric(relay, "IteratorAge", "Maximum"))],
               stat="Maximum", width=8),
        _graph("Queue depth", [_metric_row(queue_metric(q, "ApproximateNumberOfMessagesVisible"), label=name)
                               for q, name in consumed], stat="Maximum", width=8),
        _graph("Oldest message (s)", [_metric_row(queue_metric(q, "ApproximateAgeOfOldestMessage"), label=name)
                                      for q, name in consumed], stat="Maximum", width=8),
        _graph("Failure and dead-letter queues (messages)",
               [_metric_row(queue_metric(q, "ApproximateNumberOfMessagesVisible"), label=name) for q, name in failures.items()],
               stat="Maximum", width=WIDTH),
        _graph("API requests and errors", [_metric_row(api_metric(stage, name), label=name)
                                           for name in ("Count", "4XXError", "5XXError")]),
        _graph("API latency (ms)", [_metric_row(api_metric(stage, "Latency", stat), stat=stat, label=stat)
                                    for stat in ("p50", "p95", "p99")]),
        _graph("DynamoDB throttled requests and system errors", dynamo_rows, width=WIDTH),
        _graph("What the functions did", ops, width=WIDTH),
    ]


def dashboard_body(stage: str) -> dict[str, Any]:
    return {"start": "-P7D", "widgets": [*_compliance_widgets(stage), *_health_widgets(stage)]}


def dashboard(stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": f"dvc-{stage}",
            # `${Logical}` and `${Logical.Attribute}` become the functions' and queues' names (`Fn::Sub`)
            "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage), ensure_ascii=False)},
        },
    }
