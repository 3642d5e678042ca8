"""The REST API stage's settings Chalice leaves out: tracing, a throttle below the API function's capacity, access logs.

The throttle follows the API function's reserved concurrency (`.chalice/config.json`): past it Lambda would throttle
and API Gateway answer a 5xx, while a stage throttle answers 429 `THROTTLED` in the documented error shape
(`gateway_errors.py`). Access logs carry the request id, route template, status and latencies: no caller address,
no path with ids in it, no body, so no personal data. API Gateway writes logs only with a CloudWatch role set on
the account (one per account and region): the stack sets it, and the API waits for that.
"""

from __future__ import annotations

from typing import Any

# A request takes the API function about 200 ms as deployed (tens of ms of our code, the rest DynamoDB round trips
# and cold starts): one concurrent execution serves about 5 a second, a burst may take twice the steady rate.
REQUESTS_PER_EXECUTION_S = 5
BURST_FACTOR = 2
ACCESS_LOG_GROUP_ID = "ApiAccessLogGroup"
ACCOUNT_ID = "ApiGatewayAccount"
ACCOUNT_ROLE_ID = "ApiGatewayCloudWatchRole"
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTimeEpoch",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorType": "$context.error.responseType",
}


def throttle(reserved_concurrency: int | None) -> dict[str, int]:
    rate = REQUESTS_PER_EXECUTION_S * (reserved_concurrency or 1000)  # 1,000: an account's default concurrency
    return {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": BURST_FACTOR * rate}


def api_properties(reserved_concurrency: int | None) -> dict[str, Any]:
    """Properties added to Chalice's `AWS::Serverless::Api`."""
    return {
        "TracingEnabled": True,
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", **throttle(reserved_concurrency)}],
        "AccessLogSetting": {
            "DestinationArn": {"Fn::GetAtt": [ACCESS_LOG_GROUP_ID, "Arn"]},
            "Format": _format(),
        },
    }


def _format() -> str:
    # API Gateway substitutes $context variables in the text; a JSON object of them is a JSON log line.
    return "{" + ", ".join(f'"{key}": "{value}"' for key, value in ACCESS_LOG_FORMAT.items()) + "}"


def resources(stage: str, retention_days: int) -> dict[str, Any]:
    return {
        ACCESS_LOG_GROUP_ID: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/apigateway/dvc-{stage}-access", "RetentionInDays": retention_days},
        },
        ACCOUNT_ROLE_ID: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                                   "Action": "sts:AssumeRole"}],
                },
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
                ],
            },
        },
        ACCOUNT_ID: {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": [ACCOUNT_ROLE_ID, "Arn"]}},
        },
    }
