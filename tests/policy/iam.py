"""A small IAM evaluator for the rendered template: each function's policy, resolved to concrete ARNs.

`Resolver` turns the template's `Ref`, `Fn::GetAtt` and `Fn::Sub` of its own resources into the ARNs CloudFormation
would give them in a fixed fake account and region; `Policy` decides an action on a resource as IAM does for
identity policies (an explicit Deny wins, then any Allow; actions match case-insensitively, `*` and `?` wildcards).
Anything it does not model (NotAction, NotResource, Condition, an unknown intrinsic) raises instead of guessing.
`LocalNames` maps an ARN recorded against the local stack to the same resource in the rendered stage, by the
topology's logical names. Test support only: nothing here runs in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib import topology
from infra import cloudformation as cfn

ACCOUNT = "111122223333"
REGION = "ap-southeast-1"
PARTITION = "aws"
# A stream's ARN ends in a label CloudFormation learns only when it creates the table: one fixed label stands
# for it on both sides (the rendered template and the recorded calls).
STREAM_LABEL = "2026-01-01T00:00:00.000"

Decision = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
FUNCTION_IDS = frozenset(cfn.function_id(f) for f in cfn.functions())
# Services whose resources every policy must name: a wildcard resource on their actions fails the checks.
DATA_SERVICES = frozenset({"dynamodb", "events", "sqs"})


class UnsupportedError(Exception):
    """The template uses something this evaluator does not model; extend it rather than guess."""


# --- resolving the template's intrinsics ----------------------------------------------------------------------


class Resolver:
    def __init__(self, template: dict[str, Any], *, account: str = ACCOUNT, region: str = REGION) -> None:
        self._resources: dict[str, Any] = template["Resources"]
        self._pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.account, self.region = account, region

    def resolve(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(logical_id, attribute)
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Join":
                separator, parts = argument
                return str(separator).join(self.resolve(part) for part in parts)
        raise UnsupportedError(f"cannot resolve {node!r}")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.resolve(variables[name])
            if name in self._pseudo:
                return self._pseudo[name]
            logical_id, _, attribute = name.partition(".")
            return self.attribute(logical_id, attribute) if attribute else self.ref(logical_id)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def _resource(self, logical_id: str) -> tuple[str, dict[str, Any]]:
        resource = self._resources.get(logical_id)
        if resource is None or "Type" not in resource:
            raise UnsupportedError(f"{logical_id} is not a resource of this template")
        return resource["Type"], resource.get("Properties", {})

    def ref(self, logical_id: str) -> str:
        if logical_id in self._pseudo:
            return self._pseudo[logical_id]
        if logical_id in FUNCTION_IDS:  # Chalice's functions: CloudFormation names them, `{stack}-{id}-{suffix}`
            return f"dvc-{logical_id}-STANDIN"
        kind, props = self._resource(logical_id)
        if kind == "AWS::DynamoDB::Table":
            return self.resolve(props["TableName"])
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.resolve(props['QueueName'])}"
        if kind == "AWS::Events::EventBus":
            return self.resolve(props["Name"])
        if kind == "AWS::S3::Bucket":
            return self.resolve(props["BucketName"])
        raise UnsupportedError(f"Ref of a {kind}")

    def attribute(self, logical_id: str, attribute: str) -> str:
        kind, props = self._resource(logical_id)
        prefix = f"arn:{PARTITION}"
        if kind == "AWS::DynamoDB::Table":
            arn = f"{prefix}:dynamodb:{self.region}:{self.account}:table/{self.resolve(props['TableName'])}"
            if attribute == "Arn":
                return arn
            if attribute == "StreamArn" and "StreamSpecification" in props:
                return f"{arn}/stream/{STREAM_LABEL}"
        elif kind == "AWS::SQS::Queue":
            name = self.resolve(props["QueueName"])
            if attribute == "Arn":
                return f"{prefix}:sqs:{self.region}:{self.account}:{name}"
            if attribute == "QueueName":
                return name
            if attribute == "QueueUrl":
                return self.ref(logical_id)
        elif kind == "AWS::Events::EventBus":
            if attribute == "Arn":
                return f"{prefix}:events:{self.region}:{self.account}:event-bus/{self.resolve(props['Name'])}"
            if attribute == "Name":
                return self.resolve(props["Name"])
        elif kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"{prefix}:s3:::{self.resolve(props['BucketName'])}"
        elif kind == "AWS::Logs::LogGroup" and attribute == "Arn":  # the group's streams included: it ends in ":*"
            return f"{prefix}:logs:{self.region}:{self.account}:log-group:{self.resolve(props['LogGroupName'])}:*"
        raise UnsupportedError(f"{attribute} of {logical_id} ({kind})")


# --- evaluating a policy --------------------------------------------------------------------------------------


def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.IGNORECASE if ignore_case else 0)


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, ignore_case=True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM matches an ARN segment by segment (partition, service, region, account, then the rest, where a
    wildcard also spans `/` and `:`)."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), resource.split(":", 5)
    return len(wanted) == len(actual) and all(_glob(w).fullmatch(a) for w, a in zip(wanted, actual, strict=True))


def _strings(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


@dataclass(frozen=True)
class Statement:
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str = ""

    def applies(self, action: str, resource: str) -> bool:
        return any(action_matches(a, action) for a in self.actions) and any(
            resource_matches(r, resource) for r in self.resources
        )


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @classmethod
    def from_documents(cls, documents: Iterable[dict[str, Any]], resolver: Resolver) -> Policy:
        statements = []
        for document in documents:
            for raw in _strings(document["Statement"]):
                unsupported = set(raw) - {"Sid", "Effect", "Action", "Resource"}
                if unsupported:
                    raise UnsupportedError(f"statement {raw.get('Sid', '')!r} uses {sorted(unsupported)}")
                statements.append(
                    Statement(
                        effect=raw["Effect"],
                        actions=tuple(resolver.resolve(a) for a in _strings(raw["Action"])),
                        resources=tuple(resolver.resolve(r) for r in _strings(raw["Resource"])),
                        sid=raw.get("Sid", ""),
                    )
                )
        return cls(tuple(statements))

    def decide(self, action: str, resource: str) -> Decision:
        applicable = [s for s in self.statements if s.applies(action, resource)]
        if any(s.effect == "Deny" for s in applicable):
            return "ExplicitDeny"
        return "Allow" if applicable else "ImplicitDeny"

    def allows(self, action: str, resource: str) -> bool:
        return self.decide(action, resource) == "Allow"


def role_documents(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy document the template gives `role`: managed and inline policies naming it, and the role's own
    inline policies if the role is in this template (Chalice's `DefaultRole` is not: it only logs)."""
    documents = []
    for resource in template["Resources"].values():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy") and {"Ref": role} in props.get("Roles", []):
            documents.append(props["PolicyDocument"])
    own = template["Resources"].get(role, {})
    if own.get("Type") == "AWS::IAM::Role":
        documents += [p["PolicyDocument"] for p in own.get("Properties", {}).get("Policies", [])]
    return documents


def function_policies(template: dict[str, Any], resolver: Resolver) -> dict[str, Policy]:
    """Each function's policy: the documents of the role it runs as (`cfn.function_roles()`)."""
    return {
        function: Policy.from_documents(role_documents(template, role), resolver)
        for function, role in cfn.function_roles().items()
    }


# --- recorded (local) ARNs to the rendered stage's ---------------------------------------------------------------


class LocalNames:
    """Rewrites an ARN recorded on the local stack (`dvc-local-…`, any account and region) into the ARN of the
    same logical resource in `stage`, in the resolver's account and region. Unknown names are kept, so a call to
    a resource the topology does not know is denied rather than mapped onto something else."""

    def __init__(self, local_stage: str, stage: str, *, account: str = ACCOUNT, region: str = REGION) -> None:
        pairs = [(t.physical(local_stage), t.physical(stage)) for t in topology.TABLES]
        pairs += [(q.physical(local_stage), q.physical(stage)) for q in topology.QUEUES]
        pairs += [(q.dlq_physical(local_stage), q.dlq_physical(stage)) for q in topology.QUEUES]
        pairs += [(b.physical(local_stage), b.physical(stage)) for b in topology.BUCKETS]
        pairs += [(p.physical(local_stage), p.physical(stage)) for p in topology.PARAMETERS]
        pairs += [(topology.bus_name(local_stage), topology.bus_name(stage))]
        self._names = dict(pairs)
        self._account, self._region = account, region

    def name(self, local: str) -> str:
        return self._names.get(local, local)

    def arn(self, recorded: str) -> str:
        if not recorded.startswith("arn:"):
            return recorded  # "*": a call that names no resource
        _, partition, service, _region, _account, resource = recorded.split(":", 5)
        if service == "s3":  # bucket ARNs carry no region or account
            bucket, slash, key = resource.partition("/")
            return f"arn:{partition}:s3:::{self.name(bucket)}{slash}{key}"
        if service == "dynamodb":
            kind, table, *rest = resource.split("/")
            if rest[:1] == ["stream"]:
                rest = ["stream", STREAM_LABEL]
            resource = "/".join([kind, self.name(table), *rest])
        elif service == "sqs":
            resource = self.name(resource)
        elif service == "events":
            kind, _, bus = resource.partition("/")
            resource = f"{kind}/{self.name(bus)}"
        elif service == "ssm":
            resource = "parameter" + self.name(resource.removeprefix("parameter"))
        return f"arn:{partition}:{service}:{self._region}:{self._account}:{resource}"


# --- wildcards --------------------------------------------------------------------------------------------------


def _is_wildcard(resource: Any) -> bool:
    """`*`, or an ARN pattern with a wildcard that is not inside one named resource of the template (a table's
    `${Table.Arn}/stream/*` is that table's streams; `arn:aws:sqs:*:*:*` is every queue)."""
    if isinstance(resource, str):
        return "*" in resource
    if isinstance(resource, dict) and set(resource) <= {"Fn::GetAtt", "Ref"}:
        return False
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        return "*" in text and re.match(r"\$\{[A-Za-z0-9]+\.Arn\}/", str(text)) is None
    return True  # anything else cannot be shown to name a resource


def wildcard_grants(statements: Iterable[dict[str, Any]]) -> list[str]:
    """Allow statements granting an action of DynamoDB, EventBridge or SQS on a wildcard resource."""
    found = []
    for statement in statements:
        actions = [str(a) for a in _strings(statement.get("Action", []))]
        data = [a for a in actions if a == "*" or a.split(":")[0].lower() in DATA_SERVICES]
        if statement.get("Effect") != "Allow" or not data:
            continue
        found += [f"{statement.get('Sid', '')}: {data} on {r}" for r in _strings(statement.get("Resource", []))
                  if _is_wildcard(r)]
    return found
