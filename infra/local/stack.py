"""The whole system on one machine: engines, resources, seed data, the API over HTTP, the event sources.

`make run` calls `main()`; the tests start the same `LocalStack` once per session (in-memory, free ports).
Everything binds to 127.0.0.1 and `stop()` (or Ctrl-C) ends everything it started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from chalicelib import topology
from infra.local.event_sources import QueuePoller, StreamPoller
from infra.local.notify_sandbox import NotifySandbox, start_notify_sandbox
from infra.local.notify_sandbox import sandbox_environment as notify_sandbox_environment
from infra.local.payment_sandbox import PaymentSandbox, sandbox_environment, start_payment_sandbox
from infra.local.postal_sandbox import PostalSandbox, start_postal_sandbox
from infra.local.processes import ROOT, ManagedProcess, free_port, start_dynamodb_local, start_moto
from infra.provision import Provisioned, provision

REGION = "ap-southeast-1"
STAGE = "local"


@dataclass
class StackConfig:
    api_port: int | None = 8000  # None: no HTTP server (tests that only need the engines)
    dynamodb_port: int = 8100
    moto_port: int = 8200
    data_dir: Path | None = ROOT / ".local" / "dynamodb"  # None: in memory
    log_dir: Path = ROOT / ".local" / "logs"
    province_code: int = int(os.environ.get("PROVINCE_CODE", "46"))
    run_event_sources: bool = True
    sqs_retry_delay_s: int = 1
    postal_auto: bool = True  # the postal simulator walks each new shipment to delivery (tests drive it themselves)
    postal_port: int = 8400  # the postal simulator (its API and its controls)
    notify_retry_base_ms: int = 200  # a messaging provider's first retry waits this long, then doubles

    @classmethod
    def for_tests(cls) -> StackConfig:
        return cls(api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None,
                   postal_auto=False, postal_port=free_port(),
                   notify_retry_base_ms=20)


def stage_environment(stage: str = STAGE) -> dict[str, str]:
    """The environment Chalice gives the stage's functions, read from `.chalice/config.json`."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


@dataclass
class LocalStack:
    config: StackConfig
    processes: list[ManagedProcess] = field(default_factory=list)
    pollers: list[StreamPoller | QueuePoller] = field(default_factory=list)
    resources: Provisioned | None = None
    _http: Any = None
    _http_thread: threading.Thread | None = None
    payments: PaymentSandbox | None = None  # the VNPay and PayGov simulators, with the API
    _payments_port: int = 0
    postal: PostalSandbox | None = None  # the postal partner's simulator, with the API
    notify: NotifySandbox | None = None  # the VNPT brandname and Zalo ZNS simulators, with the API
    _notify_port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.api_port}"

    def poller(self, function: str) -> StreamPoller | QueuePoller:
        return next(p for p in self.pollers if p.name.endswith(f":{function}"))

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        cfg = self.config
        self.processes.append(start_dynamodb_local(cfg.dynamodb_port, cfg.data_dir, cfg.log_dir))
        self.processes.append(start_moto(cfg.moto_port, cfg.log_dir))
        dynamodb_url = f"http://127.0.0.1:{cfg.dynamodb_port}"
        moto_url = f"http://127.0.0.1:{cfg.moto_port}"
        os.environ.update(stage_environment())
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb_url,
                **{f"AWS_ENDPOINT_URL_{svc}": moto_url for svc in ("EVENTBRIDGE", "SQS", "SNS", "SES", "S3", "SSM")},
                "PROVINCE_CODE": str(cfg.province_code),
            }
        )
        if cfg.api_port is not None:  # before the container reads its gateways' URLs; the sandbox starts after the API
            self._payments_port = free_port()
            os.environ.update(sandbox_environment(self.api_url, self._payments_port))
            os.environ["POSTAL_API_URL"] = f"http://127.0.0.1:{cfg.postal_port}"
            self._notify_port = free_port()
            os.environ.update(notify_sandbox_environment(self._notify_port))
        os.environ.setdefault("NOTIFY_RETRY_BASE_MS", str(cfg.notify_retry_base_ms))
        self.resources = provision(
            STAGE, dynamodb=self.client("dynamodb"), sqs=self.client("sqs"), events=self.client("events"),
            s3=self.client("s3"), ses=self.client("ses"),
            email_sender=os.environ.get("NOTIFY_EMAIL_SENDER", "thongbao@dichvucong.local"),
        )
        from infra.seed import seed  # after the environment is set: the container reads it on first use


        self.seeded = seed(cfg.province_code)
        if cfg.run_event_sources:
            self.start_event_sources()
        if cfg.api_port is not None:
            self.start_http()
            self.start_payment_sandbox()
            self.start_postal_sandbox()
            self.notify = start_notify_sandbox(self.api_url, os.environ, self._notify_port)

    def start_event_sources(self, only: frozenset[str] | None = None) -> None:
        """Poll every mapping (or the functions `only` names) and call its function as Lambda would."""
        from app import app

        handlers = app.handler_map
        assert self.resources is not None
        sqs, streams = self.client("sqs"), self.client("dynamodbstreams")
        for mapping in topology.STREAM_MAPPINGS:
            if only is not None and mapping.function not in only:
                continue
            self.pollers.append(
                StreamPoller(
                    mapping,
                    handlers[mapping.function],
                    streams=streams,
                    sqs=sqs,
                    stream_arn=self.resources.stream_arns[mapping.table.logical],
                    dlq_url=self.resources.queue_urls[mapping.on_failure.logical],
                    region=REGION,
                )
            )
        for queue_mapping in topology.QUEUE_MAPPINGS:
            if only is not None and queue_mapping.function not in only:
                continue
            url = self.resources.queue_urls[queue_mapping.queue.logical]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.pollers.append(
                QueuePoller(
                    queue_mapping,
                    handlers[queue_mapping.function],
                    sqs=sqs,
                    queue_url=url,
                    queue_arn=arn,
                    region=REGION,
                    retry_delay_s=self.config.sqs_retry_delay_s,
                )
            )
        for poller in self.pollers:
            poller.start()

    def start_http(self, port: int | None = None) -> None:
        from chalice.config import Config

        from app import app
        from infra.local.http_server import local_server

        self.config.api_port = port or self.config.api_port or free_port()
        chalice_config = Config.create(
            chalice_stage=STAGE,
            app_name="dvc-cloud",
            config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8")),
        )
        self._http = local_server(app, chalice_config, "127.0.0.1", self.config.api_port)
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="http", daemon=True)
        self._http_thread.start()

    def start_payment_sandbox(self) -> None:
        from chalicelib.integrations.gateway_config import local_configs

        self.payments = start_payment_sandbox(self.api_url, *local_configs(os.environ), port=self._payments_port)

    def start_postal_sandbox(self) -> None:
        from chalicelib.integrations.postal_config import local_partners

        shipping, partners = local_partners(os.environ)
        config = partners[shipping]
        self.postal = start_postal_sandbox(self.api_url, shipping, config.webhook_secrets[0], config.token,
                                           port=self.config.postal_port, auto=self.config.postal_auto)

    def stop(self) -> None:
        if self.postal is not None:
            self.postal.stop()
        if self.payments is not None:
            self.payments.stop()
        if self.notify is not None:
            self.notify.stop()
        for poller in self.pollers:
            poller.stop()
        for poller in self.pollers:
            poller.join(timeout=5)
        if self._http is not None:
            self._http.shutdown()
            self._http.server.server_close()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run DVC Cloud locally (Ctrl-C stops everything).")
    parser.add_argument("--in-memory", action="store_true", help="keep DynamoDB Local in memory (no data folder)")
    args = parser.parse_args()
    config = StackConfig()
    if args.in_memory:
        config.data_dir = None
    stack = LocalStack(config).start()
    print(
        f"DVC Cloud is running (province {config.province_code}: {stack.seeded['agencies']} agencies, "
        f"{stack.seeded['procedures']} procedures)\n"
        f"  API             {stack.api_url}   (try: curl {stack.api_url}/v1/health)\n"
        f"  DynamoDB Local  http://127.0.0.1:{config.dynamodb_port}   data: {config.data_dir or 'in memory'}\n"
        f"  moto server     http://127.0.0.1:{config.moto_port}   (EventBridge, SQS, SNS, SES, S3)\n"
        f"  payment sandbox {stack.payments.base_url if stack.payments else '-'}   (VNPay and PayGov simulators)\n"
        f"  postal sandbox  {stack.postal.base_url if stack.postal else '-'}   (the postal partner's simulator)\n"
        f"  notify sandbox  {stack.notify.base_url if stack.notify else '-'}   (VNPT SMS brandname, Zalo ZNS; "
        f"what they sent: GET {stack.api_url}/v1/dev/outbox)\n"
        f"  logs            {config.log_dir}\n"
        "Ctrl-C stops everything.",
        flush=True,
    )
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # explicit: a background shell may have SIGINT ignored
        signal.signal(signum, lambda *_: done.set())
    try:
        done.wait()
    finally:
        print("stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
