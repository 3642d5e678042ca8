"""The one place for every resource fact: tables and indexes, the bus, event patterns, queues, mappings.

The deployed stack (`infra/cloudformation.py`), the local stack (`infra/provision.py`, the event-source
runner) and the runtime code all read these definitions, so a name or a pattern cannot differ between them.
Physical names are `dvc-{stage}-{logical}`; the runtime learns them from `Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The event names and who handles each are the domain's registry; re-exported here beside the rules that route them.
from chalicelib.domain.events import Consumer, handled_by
from chalicelib.domain.events import EventType as EventType
from chalicelib.domain.roles import Role

EVENT_SOURCE = "dvc.dossiers"


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    logical: str
    hash_key: str = "pk"
    range_key: str | None = "sk"
    attributes: dict[str, str] = field(default_factory=dict)  # name -> S | N, for keys and index keys
    indexes: tuple[Index, ...] = ()
    stream_view: str | None = None  # NEW_IMAGE, NEW_AND_OLD_IMAGES, ...
    ttl_attribute: str | None = None

    def physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}"


BY_OWNER = Index("by_owner", "owner_id", "submitted_at")  # an applicant's own dossiers
BY_AGENCY = Index("by_agency", "agency_code", "submitted_at")  # an agency's work queue
BY_AGENCY_STATUS = Index("by_agency_status", "agency_status", "submitted_at")  # … filtered by status
BY_DUE = Index("by_due", "due_agency", "due_at")  # sparse: open dossiers only, for the deadline watch
BY_PENDING_PAYMENT = Index("by_pending_payment", "pending_gateway", "requested_at")  # sparse: for reconciliation
BY_POSTAL = Index("by_postal", "postal_agency", "postal_due")  # sparse: shipments under way, postal tasks open
BY_INBOX = Index("by_inbox", "inbox_owner", "inbox_sort")  # sparse: inbox notices only, newest first per applicant

DOSSIERS = TableSpec(
    logical="dossiers",
    attributes={
        "pk": "S", "sk": "S", "owner_id": "S", "submitted_at": "S", "agency_code": "S", "agency_status": "S",
        "due_agency": "S", "due_at": "S", "pending_gateway": "S", "requested_at": "S",
        "postal_agency": "S", "postal_due": "S",
    },
    indexes=(BY_OWNER, BY_AGENCY, BY_AGENCY_STATUS, BY_DUE, BY_PENDING_PAYMENT, BY_POSTAL),
    stream_view="NEW_IMAGE",
    ttl_attribute="expires_at",
)
CATALOGUE = TableSpec(logical="catalogue", attributes={"pk": "S", "sk": "S"})
COUNTERS = TableSpec(logical="counters", attributes={"pk": "S", "sk": "S"}, ttl_attribute="expires_at")
# Notices to applicants and their preferences: a table of their own (written several times per event, by the
# notifications function and the delivery receipts), so none of it reaches the dossiers' stream and relay.
NOTIFICATIONS = TableSpec(
    logical="notifications",
    attributes={"pk": "S", "sk": "S", "inbox_owner": "S", "inbox_sort": "S"},
    indexes=(BY_INBOX,),
    ttl_attribute="expires_at",
)

# A rebuild's recount of the counters (same layout as COUNTERS), compared with the live table and kept a week for
# inspection: written only by the rebuild, read by nothing else.
COUNTERS_SHADOW = TableSpec(logical="counters-shadow", attributes={"pk": "S", "sk": "S"}, ttl_attribute="expires_at")

TABLES: tuple[TableSpec, ...] = (DOSSIERS, CATALOGUE, COUNTERS, NOTIFICATIONS, COUNTERS_SHADOW)


@dataclass(frozen=True)
class QueueSpec:
    logical: str
    visibility_timeout_s: int = 60
    max_receive_count: int = 5  # deliveries before the message moves to the dead-letter queue
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600

    def physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}"

    def dlq_physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}-dlq"


COUNTERS_QUEUE = QueueSpec(logical="counters")
# The stream mapping's on-failure destination: it is itself a dead-letter queue, so it keeps messages as long.
RELAY_DLQ = QueueSpec(logical="relay-failures", retention_s=14 * 24 * 3600)
# Where a scheduled run that failed all its attempts lands (the schedule's on-failure destination); a DLQ too.
DEADLINE_WATCH_DLQ = QueueSpec(logical="deadline-watch-failures", retention_s=14 * 24 * 3600)
RECONCILE_PAYMENTS_DLQ = QueueSpec(logical="reconcile-payments-failures", retention_s=14 * 24 * 3600)
# The postal consumer calls the partner (retried with backoff inside): a message stays hidden past its attempts.
POSTAL_QUEUE = QueueSpec(logical="postal", visibility_timeout_s=120)
NOTIFICATIONS_QUEUE = QueueSpec(logical="notifications")
# Notices no provider would take after every retry and failover (status technical-failure): one message each, for
# someone to look at; a dead-letter queue too.
NOTIFICATION_FAILURES = QueueSpec(logical="notification-failures", retention_s=14 * 24 * 3600)
# Events EventBridge could not deliver to a target (a rule's queue, a schedule's function) after its retries: a DLQ,
# every rule's and schedule's dead-letter config.
UNDELIVERED_EVENTS = QueueSpec(logical="undelivered-events", retention_s=14 * 24 * 3600)
QUEUES: tuple[QueueSpec, ...] = (COUNTERS_QUEUE, RELAY_DLQ, DEADLINE_WATCH_DLQ, RECONCILE_PAYMENTS_DLQ, POSTAL_QUEUE,
                                 NOTIFICATIONS_QUEUE, NOTIFICATION_FAILURES, UNDELIVERED_EVENTS)
# Failure queues a function writes to itself (not a mapping's or a schedule's destination): the policy and the alarms.
HANDLED_FAILURE_QUEUES: tuple[QueueSpec, ...] = (NOTIFICATION_FAILURES,)


@dataclass(frozen=True)
class RuleSpec:
    """A bus rule: one per consumer, routing exactly the event types the registry says it handles."""

    logical: str
    consumer: Consumer
    queue: QueueSpec

    @property
    def pattern(self) -> dict[str, Any]:
        return {"source": [EVENT_SOURCE], "detail-type": list(handled_by(self.consumer))}

    def physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}"


BUS_LOGICAL = "events"


def bus_name(stage: str) -> str:
    return f"dvc-{stage}-{BUS_LOGICAL}"


COUNTERS_RULE = RuleSpec(logical="dossier-events-to-counters", consumer=Consumer.COUNTERS, queue=COUNTERS_QUEUE)
POSTAL_RULE = RuleSpec(logical="dossier-events-to-postal", consumer=Consumer.POSTAL, queue=POSTAL_QUEUE)
NOTIFICATIONS_RULE = RuleSpec(logical="dossier-events-to-notifications", consumer=Consumer.NOTIFICATIONS,
                              queue=NOTIFICATIONS_QUEUE)
RULES: tuple[RuleSpec, ...] = (COUNTERS_RULE, POSTAL_RULE, NOTIFICATIONS_RULE)


@dataclass(frozen=True)
class StreamMapping:
    """A DynamoDB stream → Lambda mapping, as `AWS::Lambda::EventSourceMapping` configures it."""

    function: str
    table: TableSpec
    batch_size: int
    max_retry_attempts: int
    bisect_on_error: bool
    filter_pattern: dict[str, Any]
    on_failure: QueueSpec


@dataclass(frozen=True)
class QueueMapping:
    """An SQS → Lambda mapping with partial batch responses."""

    function: str
    queue: QueueSpec
    batch_size: int
    batching_window_s: int


OUTBOX_KIND = "outbox"

RELAY_MAPPING = StreamMapping(
    function="relay",
    table=DOSSIERS,
    batch_size=100,
    max_retry_attempts=10,
    bisect_on_error=True,
    filter_pattern={"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": [OUTBOX_KIND]}}}},
    on_failure=RELAY_DLQ,
)
COUNTERS_MAPPING = QueueMapping(function="counters", queue=COUNTERS_QUEUE, batch_size=100, batching_window_s=1)

STREAM_MAPPINGS: tuple[StreamMapping, ...] = (RELAY_MAPPING,)
# Small batches: each message may call the partner; no batching window, a pickup is asked for at once.
POSTAL_MAPPING = QueueMapping(function="postal", queue=POSTAL_QUEUE, batch_size=10, batching_window_s=0)
# Small batches, no window: each message means calls to providers, and an applicant should hear within seconds.
NOTIFICATIONS_MAPPING = QueueMapping(function="notifications", queue=NOTIFICATIONS_QUEUE, batch_size=10,
                                     batching_window_s=0)
QUEUE_MAPPINGS: tuple[QueueMapping, ...] = (COUNTERS_MAPPING, POSTAL_MAPPING, NOTIFICATIONS_MAPPING)


@dataclass(frozen=True)
class ScheduleSpec:
    """A scheduled function (`@bp.schedule(..., name=function)`). EventBridge invokes it asynchronously, so a
    failed run is retried by Lambda and then sent to `on_failure`, as `AWS::Lambda::EventInvokeConfig` configures."""

    function: str
    max_retry_attempts: int  # Lambda allows 0-2 retries of an asynchronous invocation
    max_event_age_s: int  # 60-21600: an event older than this goes to `on_failure` unprocessed
    on_failure: QueueSpec


# The watch is idempotent (one warning per due time), so retrying a failed run is safe.
DEADLINE_WATCH_SCHEDULE = ScheduleSpec(
    function="deadline_watch", max_retry_attempts=2, max_event_age_s=6 * 3600, on_failure=DEADLINE_WATCH_DLQ
)
# Reconciliation settles each payment at most once (as its callback would), so a retried run is safe; a run older
# than the next one is pointless, hence the short age.
RECONCILE_PAYMENTS_SCHEDULE = ScheduleSpec(
    function="reconcile_payments", max_retry_attempts=1, max_event_age_s=600, on_failure=RECONCILE_PAYMENTS_DLQ
)
SCHEDULES: tuple[ScheduleSpec, ...] = (DEADLINE_WATCH_SCHEDULE, RECONCILE_PAYMENTS_SCHEDULE)


# Functions nothing invokes on a schedule or from an event source: an administrator invokes them (`aws lambda invoke`).
REBUILD_FUNCTION = "rebuild_counters"  # recount a period from the dossiers into COUNTERS_SHADOW; compare with live
INVOKED_FUNCTIONS: tuple[str, ...] = (REBUILD_FUNCTION,)


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket. Bucket names are unique across all AWS accounts, so `dvc-{stage}-…` may already be taken
    in another account: deploying outside the local stack may need an account-specific prefix here."""

    logical: str

    def physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}"


DOCUMENTS_BUCKET = BucketSpec("documents")  # dossier components and results, uploaded by presigned URL
BUCKETS: tuple[BucketSpec, ...] = (DOCUMENTS_BUCKET,)


@dataclass(frozen=True)
class ParameterSpec:
    """An SSM parameter (SecureString) the functions read once per container; set by the deployer, never in git."""

    logical: str

    def physical(self, stage: str) -> str:
        return f"/dvc/{stage}/{self.logical}"


# The identity provider's public key (PEM) that signs the API's bearer tokens (RS256), unless JWT_JWKS_URL is set.
JWT_KEY_PARAMETER = ParameterSpec("jwt-public-key")
PARAMETERS: tuple[ParameterSpec, ...] = (JWT_KEY_PARAMETER,)


@dataclass(frozen=True)
class SecretSpec:
    """A Secrets Manager secret the functions read once per container; its value is set by the deployer, never in git."""

    logical: str

    def physical(self, stage: str) -> str:
        return f"dvc/{stage}/{self.logical}"


# The payment gateways' merchant codes and keys (VNPay, the national payment platform): see
# `chalicelib/integrations/gateway_config.py` for its JSON shape.
PAYMENT_GATEWAYS_SECRET = SecretSpec("payment-gateways")
# The postal partners' API endpoints, tokens and webhook secrets: see `chalicelib/integrations/postal_config.py`.
POSTAL_PARTNERS_SECRET = SecretSpec("postal-partners")
# The messaging providers' accounts and the delivery receipts' webhook secrets: see
# `chalicelib/integrations/messaging_config.py` for its JSON shape.
NOTIFICATION_PROVIDERS_SECRET = SecretSpec("notification-providers")
SECRETS: tuple[SecretSpec, ...] = (PAYMENT_GATEWAYS_SECRET, POSTAL_PARTNERS_SECRET, NOTIFICATION_PROVIDERS_SECRET)


@dataclass(frozen=True)
class UserPoolSpec:
    """A Cognito user pool whose ID tokens the API accepts. A token's role is its one group named after a role of
    `roles`; `default_role` is the role of a user in none (self-registered citizens join no group)."""

    logical: str
    roles: tuple[str, ...]
    default_role: str | None
    self_sign_up: bool
    mfa_required: bool  # Cognito sets MFA per pool, never per group: staff get a pool of their own to require it
    agency_attribute: bool  # AGENCY_ATTRIBUTE, the officer's agency, set by an administrator only

    def physical(self, stage: str) -> str:
        return f"dvc-{stage}-{self.logical}"

    @property
    def pool_id_variable(self) -> str:
        """The API function's environment variable holding the pool's id (the deployed template sets it)."""
        return f"COGNITO_{self.logical.upper()}_POOL_ID"

    @property
    def client_ids_variable(self) -> str:
        """… and the app client ids (comma-separated) whose ID tokens it accepts."""
        return f"COGNITO_{self.logical.upper()}_CLIENT_IDS"


AGENCY_ATTRIBUTE = "agency"  # a custom attribute: Cognito's tokens carry it as `custom:agency`
# Applicants sign themselves up from the mobile app; officers and administrators are created by an administrator.
CITIZEN_POOL = UserPoolSpec("citizens", roles=(Role.CITIZEN.value, Role.ORGANISATION.value), default_role=Role.CITIZEN.value,
                            self_sign_up=True, mfa_required=False, agency_attribute=False)
STAFF_POOL = UserPoolSpec("staff", roles=(Role.OFFICER.value, Role.ADMIN.value), default_role=None, self_sign_up=False,
                          mfa_required=True, agency_attribute=True)
USER_POOLS: tuple[UserPoolSpec, ...] = (CITIZEN_POOL, STAFF_POOL)
