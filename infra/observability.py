"""The deployed stack's alarms, their SNS topic and the administrators' CloudWatch dashboard, for `infra.cloudformation`.

Everything watched is named from one place: our metrics from `chalicelib.metric_names` (what the functions emit), the
functions, tables and queues from `chalicelib.topology` through `infra.cloudformation`'s logical ids, AWS's own
metrics from the tables below (their documented names and dimensions). `section(stage)` gives the parameters,
conditions, resources and outputs to merge into the template. (X-Ray's permissions are Chalice's: `xray` in
`.chalice/config.json`.)

The alarms notify one SNS topic: the stack's own (`dvc-{stage}-alarms`, with an email subscription if
`AlarmEmail` is given: AWS mails a confirmation link first), or an existing topic whose ARN is passed as
`AlarmTopicArn`. The stack's topic is not encrypted: CloudWatch cannot publish to a topic under the AWS managed key
`aws/sns`, and a customer managed key for alarm texts (which carry no personal data) is not worth its cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib import metric_names, topology
from chalicelib.metric_names import COMPLIANCE, STAGE_DIMENSION, TIER_DIMENSION, TIERS, Headline, MetricSpec
from infra import cloudformation as cfn
from infra.local.processes import ROOT

ALARM_TOPIC_PARAMETER = "AlarmTopicArn"
ALARM_EMAIL_PARAMETER = "AlarmEmail"
CREATE_ALARM_TOPIC = "CreateAlarmTopic"
HAS_ALARM_EMAIL = "HasAlarmEmail"
ALARM_TOPIC_ID = "AlarmTopic"
ALARM_SUBSCRIPTION_ID = "AlarmEmailSubscription"
DASHBOARD_ID = "OperationsDashboard"

# Thresholds, and why each is where it is.
OLDEST_MESSAGE_ALARM_S = 300  # a consumer five minutes behind: reports and notices lag visibly
ITERATOR_AGE_ALARM_MS = 60_000  # events a minute old before they reach the bus: every consumer lags behind
API_LATENCY_P95_ALARM_MS = 3_000  # routes answer in tens of milliseconds; 3 s at p95 is a degraded service
# Payments pending past their URL's life include the abandoned ones (swept after 24 h), so a few are normal;
# dozens through a whole hour of runs means callbacks are not arriving or a gateway does not answer.
PAYMENTS_PENDING_ALARM = 20
RECONCILE_PERIOD_S = 15 * 60  # the reconciliation runs every 15 minutes, each run one data point
PAYMENTS_PENDING_PERIODS = 4  # an hour of runs
NOTIFICATIONS_FAILED_ALARM = 0  # each one is a notice an applicant did not get
POSTAL_REJECTED_ALARM = 5  # a few forged or stale calls are noise; a stream of them is a partner's secret out of date
PERIOD_S = 300

# AWS's own metrics this module watches, as documented: namespace → metric → its dimensions.
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


def _ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


@cache
def api_identity(stage: str) -> tuple[str, str]:
    """API Gateway's `ApiName` and `Stage` dimensions: Chalice names the REST API after the app (the swagger's title)
    and deploys it to the stage's `api_gateway_stage` (Chalice's default: `api`)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return str(config["app_name"]), str(config["stages"].get(stage, {}).get("api_gateway_stage", "api"))


# --- the topic ----------------------------------------------------------------------------------------------------


def _topic(stage: str) -> dict[str, Any]:
    return {
        ALARM_TOPIC_ID: {
            "Type": "AWS::SNS::Topic",
            "Condition": CREATE_ALARM_TOPIC,
            "Properties": {"TopicName": f"dvc-{stage}-alarms", "DisplayName": f"DVC {stage} alarms"},
        },
        ALARM_SUBSCRIPTION_ID: {
            "Type": "AWS::SNS::Subscription",
            "Condition": HAS_ALARM_EMAIL,
            "Properties": {"TopicArn": alarm_topic(), "Protocol": "email", "Endpoint": _ref(ALARM_EMAIL_PARAMETER)},
        },
    }


def alarm_topic() -> dict[str, Any]:
    """The topic every alarm notifies: the stack's own, or the one passed in."""
    return {"Fn::If": [CREATE_ALARM_TOPIC, _ref(ALARM_TOPIC_ID), _ref(ALARM_TOPIC_PARAMETER)]}


# --- alarms -------------------------------------------------------------------------------------------------------


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


def _ours(spec: MetricSpec, stage: str, stat: str = "Sum", **dimensions: str) -> Watch:
    return Watch(spec.namespace, spec.name, ((STAGE_DIMENSION, stage), *dimensions.items()), stat)


def _function(function: str, name: str, stat: str = "Sum") -> Watch:
    return Watch(LAMBDA, name, (("FunctionName", _ref(cfn.function_id(function))),), stat)


def _queue(logical_id: str, name: str) -> Watch:
    return Watch(SQS, name, (("QueueName", {"Fn::GetAtt": [logical_id, "QueueName"]}),), "Maximum")


def _api(stage: str, name: str, stat: str = "Sum") -> Watch:
    api_name, api_stage = api_identity(stage)
    return Watch(API_GATEWAY, name, (("ApiName", api_name), ("Stage", api_stage)), stat)


def _table_operations(table: topology.TableSpec, stage: str, name: str) -> list[Watch]:
    return [Watch(DYNAMODB, name, (("TableName", table.physical(stage)), ("Operation", operation)))
            for operation in DYNAMODB_OPERATIONS]


def _alarm(name: str, description: str, threshold: float, watch: Watch | None = None, *,
           summed: list[Watch] | None = None, periods: int = 1, period_s: int = PERIOD_S) -> dict[str, Any]:
    """An alarm on one metric (`watch`), or on the sum of several (`summed`, a metric math expression)."""
    properties: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": description,
        "EvaluationPeriods": periods,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",  # no data is no errors, no messages, no traffic
        "AlarmActions": [alarm_topic()],
        "OKActions": [alarm_topic()],  # the administrator also hears when it is over
    }
    if watch is not None:
        properties |= watch.metric() | {"Period": period_s}
        stat_key = "ExtendedStatistic" if watch.stat.startswith("p") else "Statistic"
        properties[stat_key] = watch.stat
    else:
        assert summed
        ids = [f"m{i}" for i in range(len(summed))]
        properties["Metrics"] = [
            {"Id": i, "ReturnData": False, "MetricStat": {"Metric": w.metric(), "Period": period_s, "Stat": w.stat}}
            for i, w in zip(ids, summed, strict=True)
        ] + [{"Id": "total", "Expression": "+".join(ids), "Label": name, "ReturnData": True}]
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def alarm_id(subject: str, what: str) -> str:
    return f"{subject}{what}Alarm"


def _function_alarms(stage: str) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for function in cfn.functions():
        fid, prefix = cfn.function_id(function), f"dvc-{stage}-{function}"
        alarms[alarm_id(fid, "Errors")] = _alarm(
            f"{prefix}-errors",
            f"The {function} function failed (an unhandled error or a timeout) in the last 5 minutes. Its log group "
            f"/aws/lambda/<{fid} function> says why; search by correlation_id. Retried work ends in a failure queue.",
            0, _function(function, "Errors"))
        alarms[alarm_id(fid, "Throttles")] = _alarm(
            f"{prefix}-throttles",
            f"Lambda refused to run the {function} function (concurrency limit reached) in the last 5 minutes: "
            "requests answer 429 or events wait. Check reserved concurrency and the account's limit.",
            0, _function(function, "Throttles"))
    relay = topology.RELAY_MAPPING
    alarms[alarm_id(cfn.function_id(relay.function), "IteratorAge")] = _alarm(
        f"dvc-{stage}-{relay.function}-iterator-age",
        f"Dossier events wait more than {ITERATOR_AGE_ALARM_MS // 1000} s in the {relay.table.logical} table's stream "
        "before the relay publishes them: reports, notices and postal pickups lag. Check the relay's errors and "
        "throttles.",
        ITERATOR_AGE_ALARM_MS, _function(relay.function, "IteratorAge", "Maximum"))
    return alarms


def _queue_alarms(stage: str) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for logical_id, physical in cfn.failure_queues(stage).items():
        alarms[alarm_id(logical_id, "NotEmpty")] = _alarm(
            f"{physical}-not-empty",
            f"Messages failed and wait in {physical}: inspect them, fix the cause, then redrive them.",
            0, _queue(logical_id, "ApproximateNumberOfMessagesVisible"))
    for mapping in topology.QUEUE_MAPPINGS:
        logical_id, physical = cfn.queue_id(mapping.queue), mapping.queue.physical(stage)
        alarms[alarm_id(logical_id, "OldestMessage")] = _alarm(
            f"{physical}-oldest-message",
            f"The {mapping.function} function is falling behind: a message has waited more than "
            f"{OLDEST_MESSAGE_ALARM_S // 60} minutes in {physical}.",
            OLDEST_MESSAGE_ALARM_S, _queue(logical_id, "ApproximateAgeOfOldestMessage"))
    return alarms


def _table_alarms(stage: str) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for table in topology.TABLES:
        tid, physical = cfn.table_id(table), table.physical(stage)
        alarms[alarm_id(tid, "Throttles")] = _alarm(
            f"{physical}-throttled",
            f"DynamoDB throttled requests to {physical} in the last 5 minutes (a hot key, or the table's on-demand "
            "limits): callers answer 503 and retry. Check CloudWatch Contributor Insights for the key.",
            0, summed=_table_operations(table, stage, "ThrottledRequests"))
        alarms[alarm_id(tid, "SystemErrors")] = _alarm(
            f"{physical}-system-errors",
            f"DynamoDB answered requests to {physical} with internal errors (HTTP 500) in the last 5 minutes: "
            "an AWS-side problem; callers answer 503. Check the AWS Health Dashboard.",
            0, summed=_table_operations(table, stage, "SystemErrors"))
    return alarms


def _service_alarms(stage: str) -> dict[str, Any]:
    api_name, api_stage = api_identity(stage)
    prefix = f"dvc-{stage}"
    return {
        alarm_id("Api", "ServerErrors"): _alarm(
            f"{prefix}-api-5xx",
            f"The API ({api_name}, stage {api_stage}) answered with 5xx errors more than 5 times in 5 minutes: "
            "applicants and officers see failures. The API function's errors and the tables' alarms say where.",
            5, _api(stage, "5XXError")),
        alarm_id("Api", "Latency"): _alarm(
            f"{prefix}-api-latency-p95",
            f"The slowest 5% of API requests took over {API_LATENCY_P95_ALARM_MS / 1000:g} s for 15 minutes.",
            API_LATENCY_P95_ALARM_MS, _api(stage, "Latency", "p95"), periods=3),
        alarm_id("Payments", "PendingTooLong"): _alarm(
            f"{prefix}-payments-pending-too-long",
            f"More than {PAYMENTS_PENDING_ALARM} payments stayed pending past their payment URL's life through an "
            "hour of reconciliation runs: the gateways' callbacks are not arriving or a gateway does not answer its "
            "status queries. Check the payment callback logs and the gateways' secrets.",
            PAYMENTS_PENDING_ALARM, _ours(metric_names.PAYMENTS_PENDING_TOO_LONG, stage, stat="Maximum"),
            periods=PAYMENTS_PENDING_PERIODS, period_s=RECONCILE_PERIOD_S),
        alarm_id("Notifications", "Failed"): _alarm(
            f"{prefix}-notifications-failed",
            "Notices to applicants failed with every provider after all retries; each is in the "
            "notification-failures queue. Check the providers' status and accounts.",
            NOTIFICATIONS_FAILED_ALARM, _ours(metric_names.NOTIFICATIONS_FAILED, stage)),
        alarm_id("PostalCallbacks", "Rejected"): _alarm(
            f"{prefix}-postal-callbacks-rejected",
            f"More than {POSTAL_REJECTED_ALARM} postal callbacks in 5 minutes were refused for their signature: a "
            "partner's webhook secret is out of date (see the postal-partners secret) or someone forges calls.",
            POSTAL_REJECTED_ALARM, _ours(metric_names.POSTAL_CALLBACKS_REJECTED, stage)),
    }


def alarms(stage: str) -> dict[str, Any]:
    return _function_alarms(stage) | _queue_alarms(stage) | _table_alarms(stage) | _service_alarms(stage)


# --- the dashboard --------------------------------------------------------------------------------------------------

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
    rows = [_metric_row(_ours(COMPLIANCE[figure], stage, **{TIER_DIMENSION: tier}), id=ids[figure], visible=False)
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
    counts = [_metric_row(_ours(COMPLIANCE[figure], stage, **{TIER_DIMENSION: tier}), label=f"{figure.value}, {tier}")
              for figure in Headline for tier in TIERS]
    widgets.append(_graph("Dossiers, results and payments per day, by tier", counts, width=WIDTH, period=86400))
    return widgets


def _health_widgets(stage: str) -> list[dict[str, Any]]:
    functions = cfn.functions()
    relay = topology.RELAY_MAPPING.function
    consumed = [(cfn.queue_id(m.queue), m.queue.physical(stage)) for m in topology.QUEUE_MAPPINGS]
    failures = cfn.failure_queues(stage)
    ops = [_metric_row(_ours(spec, stage)) for spec in metric_names.OPERATIONS]
    dynamo_rows: list[list[Any]] = []
    for n, table in enumerate(topology.TABLES):
        for kind in ("ThrottledRequests", "SystemErrors"):
            watches = _table_operations(table, stage, kind)
            ids = [f"{kind.lower()}_{n}_{i}" for i in range(len(watches))]
            dynamo_rows += [_metric_row(w, id=i, visible=False) for w, i in zip(watches, ids, strict=True)]
            dynamo_rows.append([{"expression": "+".join(ids), "label": f"{table.physical(stage)} {kind}",
                                 "id": f"{kind.lower()}_{n}"}])
    return [
        _text("# System health\nEvery alarm of this stage notifies the alarm topic; the graphs show what they watch."),
        _graph("Function errors", [_metric_row(_function(f, "Errors"), label=f) for f in functions]),
        _graph("Function throttles", [_metric_row(_function(f, "Throttles"), label=f) for f in functions]),
        _graph("Relay: stream iterator age (ms)", [_metric_row(_function(relay, "IteratorAge", "Maximum"))],
               stat="Maximum", width=8),
        _graph("Queue depth", [_metric_row(_queue(q, "ApproximateNumberOfMessagesVisible"), label=name)
                               for q, name in consumed], stat="Maximum", width=8),
        _graph("Oldest message (s)", [_metric_row(_queue(q, "ApproximateAgeOfOldestMessage"), label=name)
                                      for q, name in consumed], stat="Maximum", width=8),
        _graph("Failure and dead-letter queues (messages)",
               [_metric_row(_queue(q, "ApproximateNumberOfMessagesVisible"), label=name) for q, name in failures.items()],
               stat="Maximum", width=WIDTH),
        _graph("API requests and errors", [_metric_row(_api(stage, name), label=name)
                                           for name in ("Count", "4XXError", "5XXError")]),
        _graph("API latency (ms)", [_metric_row(_api(stage, "Latency", stat), stat=stat, label=stat)
                                    for stat in ("p50", "p95", "p99")]),
        _graph("DynamoDB throttled requests and system errors", dynamo_rows, width=WIDTH),
        _graph("What the functions did", ops, width=WIDTH),
    ]


def dashboard_body(stage: str) -> dict[str, Any]:
    return {"start": "-P7D", "widgets": [*_compliance_widgets(stage), *_health_widgets(stage)]}


def _dashboard(stage: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": f"dvc-{stage}",
            # `${Logical}` and `${Logical.Attribute}` become the functions' and queues' names (`Fn::Sub`)
            "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage), ensure_ascii=False)},
        },
    }


# --- saved log queries ------------------------------------------------------------------------------------------

# CloudWatch Logs Insights queries saved in the console (Logs > Insights > Queries), over every function's log group.
QUERIES: dict[str, str] = {
    "by-correlation-id": "fields @timestamp, function_name, level, message, @message\n"
                         "| filter correlation_id = \"PASTE-THE-ID\" or @message like \"PASTE-THE-ID\"\n"
                         "| sort @timestamp asc",
    "errors": "fields @timestamp, function_name, correlation_id, message, exception_name\n"
              "| filter level = \"ERROR\" or level = \"CRITICAL\"\n| sort @timestamp desc\n| limit 200",
    "slowest-invocations": "filter @type = \"REPORT\"\n"
                           "| stats max(@duration) as slowest_ms, pct(@duration, 95) as p95_ms, count(*) as invocations"
                           " by @log\n| sort slowest_ms desc",
}


def query_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-")) + "Query"


def _queries(stage: str) -> dict[str, Any]:
    groups = [_ref(cfn.log_group_id(function)) for function in cfn.functions()]
    return {query_id(name): {"Type": "AWS::Logs::QueryDefinition",
                             "Properties": {"Name": f"dvc-{stage}/{name}", "QueryString": text, "LogGroupNames": groups}}
            for name, text in QUERIES.items()}


def section(stage: str) -> dict[str, Any]:
    """What this module adds to the template: parameters, conditions, resources and outputs."""
    return {
        "Parameters": {
            ALARM_TOPIC_PARAMETER: {
                "Type": "String", "Default": "",
                "Description": "An existing SNS topic for the alarms; empty: the stack creates dvc-{stage}-alarms.",
            },
            ALARM_EMAIL_PARAMETER: {
                "Type": "String", "Default": "",
                "Description": "An email address to subscribe to the alarm topic (it must confirm); empty for none.",
            },
        },
        "Conditions": {
            CREATE_ALARM_TOPIC: {"Fn::Equals": [_ref(ALARM_TOPIC_PARAMETER), ""]},
            HAS_ALARM_EMAIL: {"Fn::Not": [{"Fn::Equals": [_ref(ALARM_EMAIL_PARAMETER), ""]}]},
        },
        "Resources": _topic(stage) | alarms(stage) | _queries(stage) | {DASHBOARD_ID: _dashboard(stage)},
        "Outputs": {
            "AlarmNotificationTopic": {"Value": alarm_topic()},
            "DashboardName": {"Value": _ref(DASHBOARD_ID)},
        },
    }
