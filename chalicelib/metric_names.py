"""Every CloudWatch metric the code emits: its namespace, name, unit and dimensions, in one place.

The functions emit them (`chalicelib/handlers/telemetry.emit`), and the deployed alarms and dashboard
(`infra/observability.py`) read them from here, so a name cannot differ between what is sent and what is watched.
Every metric carries the stage as a dimension: two stages in one account never mix their figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

# The compliance figures' names are the domain's (`Headline`), re-exported here beside their namespace.
from chalicelib.domain.counting import Headline as Headline
from chalicelib.domain.vocabulary import AgencyLevel

COMPLIANCE_NAMESPACE = "DVC/Compliance"
OPERATIONS_NAMESPACE = "DVC/Operations"
STAGE_DIMENSION = "stage"
TIER_DIMENSION = "tier"
TIERS: tuple[str, ...] = tuple(level.value for level in AgencyLevel)  # the values of the tier dimension


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    description: str  # what the dashboard's and the alarms' readers are told it counts
    unit: MetricUnit = MetricUnit.Count
    dimensions: tuple[str, ...] = (STAGE_DIMENSION,)


def _compliance(figure: Headline, description: str) -> MetricSpec:
    return MetricSpec(COMPLIANCE_NAMESPACE, figure.value, description, dimensions=(STAGE_DIMENSION, TIER_DIMENSION))


COMPLIANCE: dict[Headline, MetricSpec] = {
    figure: _compliance(figure, description)
    for figure, description in (
        (Headline.DOSSIERS_FILED, "dossiers filed, every channel"),
        (Headline.DOSSIERS_FILED_ONLINE, "dossiers filed online from anywhere"),
        (Headline.FINISHED_ON_TIME, "dossiers finished on time"),
        (Headline.FINISHED_LATE, "dossiers finished late"),
        (Headline.PAYMENT_TRANSACTIONS, "fee payments, every way"),
        (Headline.PAYMENT_TRANSACTIONS_ONLINE, "fee payments made online"),
        (Headline.DOSSIERS_PAID_ONLINE, "dossiers with their first online payment"),
    )
}

# --- operations: what the functions did, for the alarms and the health half of the dashboard -------------------

EVENTS_RELAYED = MetricSpec(OPERATIONS_NAMESPACE, "EventsRelayed", "outbox events the relay published to the bus")
RELAY_RECORDS_FAILED = MetricSpec(
    OPERATIONS_NAMESPACE, "RelayRecordsFailed",
    "outbox records the relay could not publish or found invalid (retried, then sent to the relay-failures queue)")
EVENTS_COUNTED = MetricSpec(OPERATIONS_NAMESPACE, "EventsCounted", "events the counters consumer counted now")
NOTIFICATIONS_SENT = MetricSpec(OPERATIONS_NAMESPACE, "NotificationsSent",
                                "notices handed to a provider (SMS, email, Zalo) or the inbox")
NOTIFICATIONS_FAILED = MetricSpec(
    OPERATIONS_NAMESPACE, "NotificationsFailed",
    "notices no provider took after every retry and failover (each one is in the notification-failures queue)")
POSTAL_CALLBACKS_REJECTED = MetricSpec(
    OPERATIONS_NAMESPACE, "PostalCallbacksRejected",
    "postal partners' callbacks refused for their signature (forged, or a partner's secret out of date)")
DELIVERY_RECEIPTS_REJECTED = MetricSpec(
    OPERATIONS_NAMESPACE, "DeliveryReceiptsRejected",
    "messaging providers' delivery receipts refused for their signature (forged, or a secret out of date)")
PAYMENTS_PENDING_TOO_LONG = MetricSpec(
    OPERATIONS_NAMESPACE, "PaymentsPendingTooLong",
    "payments still pending after a reconciliation run although their payment URL has expired "
    "(no callback came and the gateway did not settle them)")
PAYMENTS_SETTLED_BY_RECONCILIATION = MetricSpec(
    OPERATIONS_NAMESPACE, "PaymentsSettledByReconciliation",
    "payments the reconciliation settled because the gateway's callback never arrived")

OPERATIONS: tuple[MetricSpec, ...] = (
    EVENTS_RELAYED, RELAY_RECORDS_FAILED, EVENTS_COUNTED, NOTIFICATIONS_SENT, NOTIFICATIONS_FAILED,
    POSTAL_CALLBACKS_REJECTED, DELIVERY_RECEIPTS_REJECTED, PAYMENTS_PENDING_TOO_LONG,
    PAYMENTS_SETTLED_BY_RECONCILIATION,
)
EMITTED: tuple[MetricSpec, ...] = (*COMPLIANCE.values(), *OPERATIONS)
