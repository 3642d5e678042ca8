"""Logs, traces and metrics of every Lambda entry point, as Chalice middleware for every kind of event.

- One logger, JSON (Powertools), every line passed through `chalicelib.redaction` by its formatter: no national
  ID, phone number or email address reaches CloudWatch Logs, whoever wrote the line.
- A correlation id per invocation, on every line (`correlation_id`): a request's `X-Correlation-Id` header when
  the client sent a well-formed one (else API Gateway's request id); for a stream or queue batch, the domain
  event's id when the batch holds one event (the same id follows the event from the relay to every consumer), else
  the invocation's own id, with the batch's event ids on its first line; for a schedule, the EventBridge event id.
  Every HTTP answer carries it as `X-Correlation-Id`, so a caller can quote it.
- X-Ray: where tracing is on (on Lambda, unless `POWERTOOLS_TRACE_DISABLED`), boto3 and botocore are patched once
  per container, on the first invocation (never at import: a local run or a test never loads the X-Ray SDK), and each
  invocation is a subsegment annotated with its correlation id. Responses and errors are not captured: they may
  carry personal data, which the logs mask and traces could not.
- `emit`: one CloudWatch embedded metric (a log line, no API call) of `chalicelib.metric_names`, with the stage.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics.base import SingleMetric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from chalice.app import Blueprint, CloudWatchEvent, LambdaFunctionEvent, Request, Response

from chalicelib.bootstrap import container
from chalicelib.metric_names import STAGE_DIMENSION, MetricSpec
from chalicelib.redaction import mask, mask_text

# What the formatter and the middleware write themselves (never personal data), left out of masking so ids stay
# exactly as they were.
OWN_KEYS = frozenset({"level", "location", "timestamp", "service", "sampling_rate", "xray_trace_id",
                      "correlation_id", "function_name", "function_request_id", "function_arn",
                      "function_memory_size", "cold_start", "api_request_id", "event_ids"})


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with personal data masked in the finished line."""

    def serialize(self, log: LogRecord) -> str:
        return super().serialize(mask(log, keep=OWN_KEYS))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each line to the `sys.stdout` of the moment (Lambda's; a test's capture), not the one at import."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


logger = Logger(logger_formatter=MaskingFormatter(), logger_handler=StdoutHandler())  # POWERTOOLS_SERVICE_NAME names it
bp = Blueprint(__name__)

# --- correlation ids ---------------------------------------------------------------------------------------------

CORRELATION_HEADERS = ("x-correlation-id", "x-request-id")  # the first one sent wins
CORRELATION_RESPONSE_HEADER = "X-Correlation-Id"  # every HTTP answer says which id its log lines carry
# A client's id is printable ASCII with no spaces, bounded; anything else (or anything the masking would change,
# such as a phone number sent as an id) is ignored and API Gateway's request id used instead.
_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
MAX_LOGGED_EVENT_IDS = 100  # a batch's ids on its first line: the largest batch a mapping delivers


def client_correlation_id(value: str | None) -> str | None:
    """The client's own correlation id, if it is one we may log as it is."""
    if value is None or not _CLIENT_ID.fullmatch(value) or mask(value) != value:
        return None
    return value


def _request_ids(request: Request, invocation_id: str | None) -> tuple[str, dict[str, Any]]:
    context = request.context or {}
    gateway_id = str(context.get("requestId") or "") or None
    for header in CORRELATION_HEADERS:
        sent = client_correlation_id(request.headers.get(header))
        if sent is not None:
            return sent, {"api_request_id": gateway_id} if gateway_id else {}
    return gateway_id or invocation_id or _new_id(), {}


def _record_event_id(record: dict[str, Any]) -> str | None:
    """A stream or queue record's domain event id: the outbox item's `event_id`, or the bus event's detail's."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    if "event_id" in image:
        return str(image["event_id"].get("S") or "") or None
    body = record.get("body")
    if isinstance(body, str):
        try:
            envelope = json.loads(body)
            return str(envelope["detail"]["event_id"])
        except (ValueError, KeyError, TypeError):
            return str(record.get("messageId") or "") or None  # unreadable: its message is what can be found
    return None


def _batch_ids(event: dict[str, Any], invocation_id: str | None) -> tuple[str, dict[str, Any]]:
    ids = [i for i in (_record_event_id(r) for r in event.get("Records") or [] if isinstance(r, dict)) if i]
    if len(ids) == 1:
        return ids[0], {}
    listed = {"event_ids": ids[:MAX_LOGGED_EVENT_IDS], "records": len(ids)} if ids else {}
    return invocation_id or _new_id(), listed


def correlation(event: Any, invocation_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The invocation's correlation id and what its first log line should add (the batch's event ids)."""
    if isinstance(event, Request):
        return _request_ids(event, invocation_id)
    if isinstance(event, CloudWatchEvent):
        return event.event_id, {}
    if isinstance(event, LambdaFunctionEvent) and isinstance(event.event, dict):
        return _batch_ids(event.event, invocation_id)
    return invocation_id or _new_id(), {}


def _new_id() -> str:
    return str(uuid.uuid4())


# --- tracing -----------------------------------------------------------------------------------------------------

PATCHED_MODULES = ("boto3", "botocore")  # pynamodb calls DynamoDB through botocore, so it is traced too


class Subsegment(Protocol):
    def put_annotation(self, key: str, value: Any) -> None: ...


class TraceProvider(Protocol):
    """What an invocation needs of the X-Ray recorder (Powertools' `Tracer.provider`)."""

    def in_subsegment(self, name: str) -> AbstractContextManager[Subsegment]: ...


def in_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """Running in Lambda itself, not under `chalice local` or SAM local."""
    env = os.environ if environ is None else environ
    return bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL") and not env.get("AWS_CHALICE_CLI_MODE")


def tracing_on(environ: Mapping[str, str] | None = None) -> bool:
    """As Powertools decides: on in Lambda unless POWERTOOLS_TRACE_DISABLED."""
    env = os.environ if environ is None else environ
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on")
    return in_lambda(env) and not disabled


@functools.cache
def tracer() -> TraceProvider | None:
    """The container's X-Ray recorder, boto3 and botocore patched (once: this is cached), or None where off."""
    if not tracing_on():
        return None
    from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only where traces are sent

    provider: TraceProvider = Tracer(patch_modules=PATCHED_MODULES).provider
    return provider


# --- other loggers ---------------------------------------------------------------------------------------------


def adopt_library_loggers(include: set[str] | None = None) -> None:
    """Every other registered logger (botocore's, pynamodb's, urllib3's, ...) writes through this logger's handler:
    JSON, masked. In Lambda their lines would otherwise reach the runtime's own handler as they are. (Chalice's app
    logger has this logger's name, so it is this logger already.) Done on a container's first invocation, when
    they exist; not outside Lambda, where they keep their own handlers."""
    copy_config_to_registered_loggers(source_logger=logger, ignore_log_level=True, include=include)
    # Powertools then adds a `name` key (the logger's name); a field of that name is masked as personal data.
    logger.remove_keys(["name"])


# --- the middleware ----------------------------------------------------------------------------------------------

_cold = [True]  # the first invocation of this container


def _context_keys(event: Any) -> tuple[str | None, dict[str, Any]]:
    context = event.lambda_context if isinstance(event, Request) else getattr(event, "context", None)
    if context is None or isinstance(context, dict) or not hasattr(context, "aws_request_id"):
        return None, {}  # the local stack invokes handlers without a Lambda context
    return str(context.aws_request_id), {"function_name": context.function_name,
                                         "function_request_id": context.aws_request_id}


def observe(event: Any, get_response: Callable[[Any], Any], provider: TraceProvider | None) -> Any:
    """Run one invocation with its correlation id on every log line (and its trace subsegment, if tracing)."""
    invocation_id, keys = _context_keys(event)
    correlation_id, first_line = correlation(event, invocation_id)
    cold, _cold[0] = _cold[0], False
    if cold and in_lambda():
        adopt_library_loggers()
    logger.thread_safe_append_keys(correlation_id=correlation_id, cold_start=cold, **keys)
    try:
        if first_line:
            logger.info("invoked", extra=first_line)
        if provider is None:
            answer = get_response(event)
        else:
            with provider.in_subsegment(f"## {keys.get('function_name', 'handler')}") as subsegment:
                subsegment.put_annotation("ColdStart", cold)
                subsegment.put_annotation("CorrelationId", correlation_id)
                answer = get_response(event)
    except Exception as exc:
        if isinstance(event, Request):
            raise  # Chalice turns it into an answer (its view errors are 4xx)
        logger.exception("invocation failed")  # masked, with the whole traceback
        raise InvocationError(mask_text(f"{type(exc).__name__}: {exc}")) from None
    finally:
        logger.thread_safe_clear_keys()
    if isinstance(answer, Response):  # the caller can quote it when something went wrong
        answer.headers[CORRELATION_RESPONSE_HEADER] = correlation_id
    return answer


class InvocationError(Exception):
    """What a failed event or schedule invocation raises, so Lambda reports it and retries: the original error's
    type and masked message only. Lambda's runtime writes a raised error to the log itself, unmasked; the original,
    with its traceback, has gone through the logger first."""


@bp.middleware("all")
def telemetry(event: Any, get_response: Callable[[Any], Any]) -> Any:
    return observe(event, get_response, tracer())


# --- metrics -----------------------------------------------------------------------------------------------------


def emit(metric: MetricSpec, value: float, **dimensions: str) -> None:
    """One embedded metric of `metric`, with the stage and the metric's other dimensions (all of them, no more)."""
    expected = set(metric.dimensions) - {STAGE_DIMENSION}
    if set(dimensions) != expected:
        raise ValueError(f"{metric.name} takes the dimensions {sorted(expected)}, not {sorted(dimensions)}")
    if is_metrics_disabled():  # Powertools' `single_metric` prints whatever POWERTOOLS_METRICS_DISABLED says
        return
    # Not `single_metric`: it adds a `service` dimension from POWERTOOLS_SERVICE_NAME (set on every deployed
    # function), and a metric is found only by its exact dimensions, which the alarms and the dashboard name.
    line = SingleMetric(namespace=metric.namespace, service="")
    line.add_metric(name=metric.name, unit=metric.unit, value=value)
    for name, dimension in {STAGE_DIMENSION: container().settings.stage, **dimensions}.items():
        line.add_dimension(name=name, value=dimension)
    print(json.dumps(line.serialize_metric_set(), separators=(",", ":")), flush=True)

