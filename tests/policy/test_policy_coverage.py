"""Every AWS call the suite saw a function make is allowed by that function's policy in the deployed template.

Runs after every other test (see `tests/conftest.py`), over the calls `CallRecorder` attributed to each function
while the suite ran against the local stack, for every deployed stage of `.chalice/config.json`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.topology import (
    COUNTERS_MAPPING,
    NOTIFICATIONS_MAPPING,
    POSTAL_MAPPING,
    REBUILD_FUNCTION,
    RELAY_MAPPING,
    SCHEDULES,
)
from infra import cloudformation as cfn
from infra.local.stack import STAGE as LOCAL_STAGE
from infra.package import deployed_stages
from tests.policy.iam import LocalNames, Resolver, function_policies, role_documents, wildcard_grants
from tests.policy.recorder import CallRecorder, Permission

pytestmark = pytest.mark.policy_coverage
DEADLINE_WATCH = next(s.function for s in SCHEDULES if s.function == "deadline_watch")
RECONCILE_PAYMENTS = next(s.function for s in SCHEDULES if s.function == "reconcile_payments")

# The functions the suite must have seen, or the check could pass having checked nothing.
MUST_SEE = {cfn.API_FUNCTION, RELAY_MAPPING.function, COUNTERS_MAPPING.function, DEADLINE_WATCH, RECONCILE_PAYMENTS,
            POSTAL_MAPPING.function,
            NOTIFICATIONS_MAPPING.function, REBUILD_FUNCTION}
# And the permissions each must have been seen to need: the ones whose absence would lock a deployed stage out
# (the token key, the watch's index reads) or stop the pipeline, so the check cannot pass without checking them.
MUST_NEED = {
    (cfn.API_FUNCTION, "ssm:GetParameter"),
    (cfn.API_FUNCTION, "dynamodb:PutItem"),
    (DEADLINE_WATCH, "dynamodb:Query"),
    (RECONCILE_PAYMENTS, "dynamodb:Query"),  # the sparse index of pending payments
    (RELAY_MAPPING.function, "events:PutEvents"),
    (COUNTERS_MAPPING.function, "dynamodb:UpdateItem"),
    (POSTAL_MAPPING.function, "dynamodb:GetItem"),  # reads the dossier (its addresses stay in its item)
    (NOTIFICATIONS_MAPPING.function, "dynamodb:PutItem"),  # a notice stored before any provider is called
    (NOTIFICATIONS_MAPPING.function, "sns:Publish"),  # SMS after the brandname gateway failed over
    (NOTIFICATIONS_MAPPING.function, "ses:SendEmail"),
    (NOTIFICATIONS_MAPPING.function, "sqs:SendMessage"),  # a technical failure's dead-letter entry
    (cfn.API_FUNCTION, "dynamodb:UpdateItem"),  # a delivery receipt or a read mark moves a notice (conditional update)
    (REBUILD_FUNCTION, "dynamodb:BatchWriteItem"),  # the recount written to the shadow table
}


def test_every_call_a_function_made_is_allowed_by_its_policy(aws_calls: CallRecorder) -> None:
    assert not aws_calls.errors, aws_calls.errors
    seen = aws_calls.functions_seen()
    assert seen >= MUST_SEE, f"no calls recorded from {sorted(MUST_SEE - seen)}: the check would prove nothing"

    needed: dict[tuple[str, Permission], str] = {}  # (function, permission) -> one operation that needed it
    operations: Counter[str] = Counter()
    for call in list(aws_calls.calls):
        operations[f"{call.function}: {call.service}.{call.operation}"] += 1
        for permission in call.permissions:
            needed.setdefault((call.function, permission), f"{call.service}.{call.operation}")

    missing = MUST_NEED - {(function, permission.action) for function, permission in needed}
    assert not missing, f"the suite never made these calls, so their policy lines are unchecked: {sorted(missing)}"

    denied = []
    for stage in deployed_stages():
        template = cfn.render(stage)
        policies = function_policies(template, Resolver(template))
        names = LocalNames(LOCAL_STAGE, stage)
        for function, role in cfn.function_roles().items():  # each function's own policy, no wildcard on data
            wildcards = [w for d in role_documents(template, role) for w in wildcard_grants(d["Statement"])]
            denied += [f"[{stage}] {function}: wildcard grant {w}" for w in wildcards]
        for (function, permission), operation in sorted(needed.items(), key=str):
            resource = names.arn(permission.resource)
            policy = policies.get(function)
            if policy is None or not policy.allows(permission.action, resource):
                reason = "no policy for this function" if policy is None else "denied"
                denied.append(f"[{stage}] {function}: {permission.action} on {resource} (by {operation}): {reason}")

    print("calls checked, per function and operation:")
    for line, count in sorted(operations.items()):
        print(f"  {line} ×{count}")
    print(f"not attributed to a function (setup, seeding, direct handler calls): {sum(aws_calls.unattributed.values())}")
    print(f"local-only calls left out: {dict(aws_calls.local_only)}")
    for line in denied:
        print(f"DENIED {line}")
    assert not denied, "calls the deployed policy would refuse:\n" + "\n".join(denied)
