"""The deployed stack's alarms, their SNS topic and saved log queries, with the dashboard (`infra/dashboard.py`):
`section(stage)` gives the parameters, conditions, resources and outputs `infra.cloudformation` merges in.

What an alarm watches is a `Watch` (`infra/watched.py`): our metrics named by `chalicelib.metric_names`, AWS's by
their documented names, functions, tables and queues by the template's logical ids. (X-Ray's permissions are
Chalice's: `xray` in `.chalice/config.json`.)

The alarms notify one SNS topic: the stack's own (`dvc-{stage}-alarms`, with an email subscription if
`AlarmEmail` is given: AWS mails a confirmation link first), or an existing topic whose ARN is passed as
`AlarmTopicArn`. The stack's topic is not encrypted: CloudWatch cannot publish to a topic under the AWS managed key
`aws/sns`, and a customer managed key for alarm texts (which carry no personal data) is not worth its cost.
"""

from __future__ import annotations

from typing import Any

from chalicelib import metric_names, topology
from infra import cloudformation as cfn
from infra.dashboard import DASHBOARD_ID, dashboard
from infra.watched import (
    PERIOD_S,
    Watch,
    api_identity,
    api_metric,
    function_metric,
    ours,
    queue_metric,
    table_operations,
)

ALARM_TOPIC_PARAMETER = "AlarmTopicArn"
ALARM_EMAIL_PARAMETER = "AlarmEmail"
CREATE_ALARM_TOPIC = "CreateAlarmTopic"
HAS_ALARM_EMAIL = "HasAlarmEmail"
ALARM_TOPIC_ID = "AlarmTopic"
ALARM_SUBSCRIPTION_ID = "AlarmEmailSubscription"

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


def _ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


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
            0, function_metric(function, "Errors"))
        alarms[alarm_id(fid, "Throttles")] = _alarm(
            f"{prefix}-throttles",
            f"Lambda refused to run the {function} function (concurrency limit reached) in the last 5 minutes: "
            "requests answer 429 or events wait. Check reserved concurrency and the account's limit.",
            0, function_metric(function, "Throttles"))
    relay = topology.RELAY_MAPPING
    alarms[alarm_id(cfn.function_id(relay.function), "IteratorAge")] = _alarm(
        f"dvc-{stage}-{relay.function}-iterator-age",
        f"Dossier events wait more than {ITERATOR_AGE_ALARM_MS // 1000} s in the {relay.table.logical} table's stream "
        "before the relay publishes them: reports, notices and postal pickups lag. Check the relay's errors and "
        "throttles.",
        ITERATOR_AGE_ALARM_MS, function_metric(relay.function, "IteratorAge", "Maximum"))
    return alarms


def _queue_alarms(stage: str) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for logical_id, physical in cfn.failure_queues(stage).items():
        alarms[alarm_id(logical_id, "NotEmpty")] = _alarm(
            f"{physical}-not-empty",
            f"Messages failed and wait in {physical}: inspect them, fix the cause, then redrive them.",
            0, queue_metric(logical_id, "ApproximateNumberOfMessagesVisible"))
    for mapping in topology.QUEUE_MAPPINGS:
        logical_id, physical = cfn.queue_id(mapping.queue), mapping.queue.physical(stage)
        alarms[alarm_id(logical_id, "OldestMessage")] = _alarm(
            f"{physical}-oldest-message",
            f"The {mapping.function} function is falling behind: a message has waited more than "
            f"{OLDEST_MESSAGE_ALARM_S // 60} minutes in {physical}.",
            OLDEST_MESSAGE_ALARM_S, queue_metric(logical_id, "ApproximateAgeOfOldestMessage"))
    return alarms


def _table_alarms(stage: str) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for table in topology.TABLES:
        tid, physical = cfn.table_id(table), table.physical(stage)
        alarms[alarm_id(tid, "Throttles")] = _alarm(
            f"{physical}-throttled",
            f"DynamoDB throttled requests to {physical} in the last 5 minutes (a hot key, or the table's on-demand "
            "limits): callers answer 503 and retry. Check CloudWatch Contributor Insights for the key.",
            0, summed=table_operations(table, stage, "ThrottledRequests"))
        alarms[alarm_id(tid, "SystemErrors")] = _alarm(
            f"{physical}-system-errors",
            f"DynamoDB answered requests to {physical} with internal errors (HTTP 500) in the last 5 minutes: "
            "an AWS-side problem; callers answer 503. Check the AWS Health Dashboard.",
            0, summed=table_operations(table, stage, "SystemErrors"))
    return alarms


def _service_alarms(stage: str) -> dict[str, Any]:
    api_name, api_stage = api_identity(stage)
    prefix = f"dvc-{stage}"
    return {
        alarm_id("Api", "ServerErrors"): _alarm(
            f"{prefix}-api-5xx",
            f"The API ({api_name}, stage {api_stage}) answered with 5xx errors more than 5 times in 5 minutes: "
            "applicants and officers see failures. The API function's errors and the tables' alarms say where.",
            5, api_metric(stage, "5XXError")),
        alarm_id("Api", "Latency"): _alarm(
            f"{prefix}-api-latency-p95",
            f"The slowest 5% of API requests took over {API_LATENCY_P95_ALARM_MS / 1000:g} s for 15 minutes.",
            API_LATENCY_P95_ALARM_MS, api_metric(stage, "Latency", "p95"), periods=3),
        alarm_id("Payments", "PendingTooLong"): _alarm(
            f"{prefix}-payments-pending-too-long",
            f"More than {PAYMENTS_PENDING_ALARM} payments stayed pending past their payment URL's life through an "
            "hour of reconciliation runs: the gateways' callbacks are not arriving or a gateway does not answer its "
            "status queries. Check the payment callback logs and the gateways' secrets.",
            PAYMENTS_PENDING_ALARM, ours(metric_names.PAYMENTS_PENDING_TOO_LONG, stage, stat="Maximum"),
            periods=PAYMENTS_PENDING_PERIODS, period_s=RECONCILE_PERIOD_S),
        alarm_id("Notifications", "Failed"): _alarm(
            f"{prefix}-notifications-failed",
            "Notices to applicants failed with every provider after all retries; each is in the "
            "notification-failures queue. Check the providers' status and accounts.",
            NOTIFICATIONS_FAILED_ALARM, ours(metric_names.NOTIFICATIONS_FAILED, stage)),
        alarm_id("PostalCallbacks", "Rejected"): _alarm(
            f"{prefix}-postal-callbacks-rejected",
            f"More than {POSTAL_REJECTED_ALARM} postal callbacks in 5 minutes were refused for their signature: a "
            "partner's webhook secret is out of date (see the postal-partners secret) or someone forges calls.",
            POSTAL_REJECTED_ALARM, ours(metric_names.POSTAL_CALLBACKS_REJECTED, stage)),
    }


def alarms(stage: str) -> dict[str, Any]:
    return _function_alarms(stage) | _queue_alarms(stage) | _table_alarms(stage) | _service_alarms(stage)


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
        "Resources": _topic(stage) | alarms(stage) | _queries(stage) | {DASHBOARD_ID: dashboard(stage)},
        "Outputs": {
            "AlarmNotificationTopic": {"Value": alarm_topic()},
            "DashboardName": {"Value": _ref(DASHBOARD_ID)},
        },
    }
