"""`make lint-infra`: cfn-lint, with the serverless rules, on the packaged template of every deployed stage.

Any error or warning fails. The few findings that are wrong for this stack are waived resource by resource, each
with its reason, in `WAIVERS`: they are written into the copy that is linted (as cfn-lint's own
`Metadata.cfn-lint.config.ignore_checks`), never into the deployed template, and a waiver whose resources no longer
exist fails the run, so none outlives what it was for.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib import topology
from infra import cloudformation as cfn
from infra import observability, package

SERVERLESS_RULES = "cfn_lint_serverless.rules"  # the `cfn-lint-serverless` package (awslabs/serverless-rules)


@dataclass(frozen=True)
class Waiver:
    rule: str
    resources: Callable[[], list[str]]  # the logical ids it applies to
    why: str


WAIVERS: tuple[Waiver, ...] = (
    Waiver("ES6000", lambda: [cfn.dlq_id(q) for q in topology.QUEUES],
           "a dead-letter queue's messages have nowhere further to go: they wait there, alarmed, for someone to "
           "inspect and redrive them"),
    Waiver("ES1001", lambda: [cfn.queue_mapping_id(m) for m in topology.QUEUE_MAPPINGS],
           "an on-failure destination exists for stream sources only (Lambda refuses one on an SQS mapping); a "
           "queue's failures go to its redrive DLQ, which tests/infra checks for every mapped queue"),
    Waiver("ES1007", lambda: [cfn.function_id(s.function) for s in topology.SCHEDULES],
           "the schedule's on-failure destination is the separate AWS::Lambda::EventInvokeConfig "
           "`{Function}EventInvokeConfig` (tests/unit/test_cloudformation.py); the rule reads only SAM's property"),
    Waiver("ES7000", lambda: [observability.ALARM_SUBSCRIPTION_ID],
           "the optional e-mail subscription of the alarm topic: an alarm whose e-mail bounced stays in ALARM in "
           "CloudWatch with its history, so a dead-letter queue would keep only copies of what the console shows"),
)


def waived(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of `template` with each waiver in the Metadata of its resources."""
    copy = json.loads(json.dumps(template))
    resources = copy["Resources"]
    for waiver in WAIVERS:
        ids = waiver.resources()
        missing = [i for i in ids if i not in resources]
        if not ids or missing:
            raise ValueError(f"waiver of {waiver.rule} names resources the template lacks: {missing or 'none'}")
        for logical_id in ids:
            config = resources[logical_id].setdefault("Metadata", {}).setdefault("cfn-lint", {}).setdefault("config", {})
            config.setdefault("ignore_checks", []).append(waiver.rule)
    return copy


def lint(templates: list[Path]) -> int:
    """cfn-lint on the waived copies; its exit status (0: no error, warning or informational finding)."""
    copies = []
    for template in templates:
        copy = template.with_name("sam.lint.json")
        copy.write_text(json.dumps(waived(json.loads(template.read_text(encoding="utf-8"))), indent=2) + "\n",
                        encoding="utf-8")
        copies.append(str(copy))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint), "--append-rules", SERVERLESS_RULES, "--non-zero-exit-code", "informational", "--", *copies]
    return subprocess.run(command, check=False).returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stages", nargs="*", help="default: every deployed stage of .chalice/config.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dvc-lint-") as tmp:  # packaged afresh, leaving infra/build alone
        templates = []
        for stage in args.stages or package.deployed_stages():
            templates.append(package.build(stage, out=Path(tmp) / stage, finish=False).template)
            print(f"packaged {stage}")
        status = lint(templates)
    print("cfn-lint: no findings" if status == 0 else f"cfn-lint: findings (exit {status})")
    sys.exit(status)


if __name__ == "__main__":
    main()
