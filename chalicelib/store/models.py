"""pynamodb models: the persistence schema of the three tables. Not domain objects; see the repositories.

Table names and keys come from `chalicelib.topology`; `bind_models` points the models at a stage's tables.
Item layout (`pk`, `sk`):
  dossiers   DOSSIER#{id} / DOSSIER            the dossier, versioned
             DOSSIER#{id} / HISTORY#{version}  one audit entry per change
             DOSSIER#{id} / OUTBOX#{version}#{n}  an event waiting for the stream relay (kind = outbox)
             SEQ#{agency}#{YYMMDD} / SEQ       the agency's dossier-code sequence for a day
             IDEMPOTENCY#{owner}#{key} / IDEMPOTENCY  a remembered response for an Idempotency-Key
             DOSSIER#{id} / PAYMENT#{txn_ref}  a payment, online or at the desk, versioned
             DOSSIER#{id} / RECEIPT#{number}   the one receipt of a payment that took money
             POSTAL#{partner}#{webhook id} / CALLBACK  a partner's callback, once
             POSTAL_UNMATCHED#{partner} / {at}#{webhook id}  a callback that named no shipment of ours, kept
  catalogue  AGENCY#{code} / AGENCY, PROCEDURE#{code} / PROCEDURE
             AGENCIES / AGENCY#{code}          lists every agency, whole (the deadline watch, the agency tree; no scans)
             PROCEDURES / PROCEDURE#{code}     lists every procedure, whole, with its folded name (the app's catalogue)
  counters   {scope}#{YYYY-MM} / {metric}      a compliance counter
             EVENT#{event id} / APPLIED        marks an event as counted (expires after the replay window)
  notifications  NOTIFICATION#{id} / NOTIFICATION  a notice on one channel, its status and content (inbox ones indexed)
             PREFERENCES#{owner} / PREFERENCES  an applicant's channel opt-outs
             DEV_OUTBOX / {at}#{id}            local stage only: each provider call, for GET /v1/dev/outbox (a day)
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import topology
from chalicelib.settings import Settings


class OwnerIndex(GlobalSecondaryIndex["DossierModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_OWNER.name
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class AgencyIndex(GlobalSecondaryIndex["DossierModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_AGENCY.name
        projection = AllProjection()

    agency_code = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class AgencyStatusIndex(GlobalSecondaryIndex["DossierModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_AGENCY_STATUS.name
        projection = AllProjection()

    agency_status = UnicodeAttribute(hash_key=True)
    submitted_at = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex["DossierModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_DUE.name
        projection = AllProjection()

    due_agency = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class PostalIndex(GlobalSecondaryIndex["DossierModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_POSTAL.name
        projection = AllProjection()

    postal_agency = UnicodeAttribute(hash_key=True)
    postal_due = UnicodeAttribute(range_key=True)


class DossierModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="dossier")
    dossier_id = UnicodeAttribute()
    code = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    procedure_code = UnicodeAttribute()
    procedure_name = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    agency_path = ListAttribute(of=UnicodeAttribute)
    agency_level = UnicodeAttribute()
    channel = UnicodeAttribute()
    online_form = UnicodeAttribute()
    applicant = JSONAttribute()  # personal data: stays in this item, never in events or logs
    documents = JSONAttribute()
    result_delivery = UnicodeAttribute()
    status = UnicodeAttribute()
    status_code = NumberAttribute()
    submitted_at = UnicodeAttribute()
    appointment_at = UnicodeAttribute()
    fees_total = NumberAttribute()
    legal_days = NumberAttribute(default=0)
    processing_time = JSONAttribute(null=True)  # {"amount": n, "unit": ...}; absent on dossiers stored before
    agency_status = UnicodeAttribute()  # "{agency}#{status}", key of the work-queue index
    received_at = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    new_appointment_at = UnicodeAttribute(null=True)  # an apology's, beside the original appointment_at
    due_agency = UnicodeAttribute(null=True)  # set only while open: makes the due index sparse
    supplements = JSONAttribute(default=list)
    finished_at = UnicodeAttribute(null=True)
    verdict = UnicodeAttribute(null=True)
    decision = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    result_reference = UnicodeAttribute(null=True)
    result_file_key = UnicodeAttribute(null=True)
    returned_via = UnicodeAttribute(null=True)
    apologies = NumberAttribute(default=0)
    rating = UnicodeAttribute(null=True)
    rating_comment = UnicodeAttribute(null=True)
    paid_online_total = NumberAttribute(default=0)
    paid_total = NumberAttribute(default=0)
    fees_charged = NumberAttribute(default=0)
    pending_txn_ref = UnicodeAttribute(null=True)
    payments_made = NumberAttribute(default=0)
    pickup_address = JSONAttribute(null=True)  # personal data, like `applicant`
    delivery_address = JSONAttribute(null=True)
    shipments = JSONAttribute(default=list)
    postal_tasks = JSONAttribute(default=list)
    postal_agency = UnicodeAttribute(null=True)  # set only while a shipment is under way or a task open: sparse index
    postal_due = UnicodeAttribute(null=True)
    version = VersionAttribute()
    by_postal = PostalIndex()
    by_owner = OwnerIndex()
    by_agency = AgencyIndex()
    by_agency_status = AgencyStatusIndex()
    by_due = DueIndex()


class PendingPaymentIndex(GlobalSecondaryIndex["PaymentModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_PENDING_PAYMENT.name
        projection = AllProjection()

    pending_gateway = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="payment")
    dossier_id = UnicodeAttribute()
    txn_ref = UnicodeAttribute()
    payment_id = UnicodeAttribute()
    gateway = UnicodeAttribute()
    method = UnicodeAttribute()
    amount = NumberAttribute()
    status = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    procedure_code = UnicodeAttribute()
    valid_until = UnicodeAttribute(null=True)
    payment_url = UnicodeAttribute(null=True)
    settled_at = UnicodeAttribute(null=True)
    response_code = UnicodeAttribute(null=True)
    gateway_txn_no = UnicodeAttribute(null=True)
    bank_code = UnicodeAttribute(null=True)
    receipt_number = UnicodeAttribute(null=True)
    recorded_by = UnicodeAttribute(null=True)
    reported_amount = NumberAttribute(null=True)
    pending_gateway = UnicodeAttribute(null=True)  # set only while pending: makes the reconciliation index sparse
    version = VersionAttribute()
    by_pending = PendingPaymentIndex()


class ReceiptModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="receipt")
    txn_ref = UnicodeAttribute()
    amount = NumberAttribute()
    issued_at = UnicodeAttribute()


class PostalCallbackModel(Model):
    """A partner's callback, by its `webhook-id`: written with the change it made (condition: not there yet), so a
    redelivery changes nothing. One that could never apply to any dossier is kept (no expiry) for an officer."""

    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CALLBACK")
    kind = UnicodeAttribute(default="postal_callback")
    partner = UnicodeAttribute()
    result = UnicodeAttribute()
    code = UnicodeAttribute()
    received_at = UnicodeAttribute()
    body = JSONAttribute(null=True)  # kept only for a callback no dossier could take (the partner's data, no names)
    expires_at = NumberAttribute(null=True)


class HistoryModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="history")
    version = NumberAttribute()
    at = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_name = UnicodeAttribute(null=True)
    actor_role = UnicodeAttribute()
    actor_agency = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    internal = BooleanAttribute(default=False)
    request_id = UnicodeAttribute(null=True)


class OutboxModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default=topology.OUTBOX_KIND)
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    schema = UnicodeAttribute()
    detail = UnicodeAttribute()  # the event detail as JSON text, exactly as it will be published
    occurred_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL: the outbox is a hand-off, history is the record


class SequenceModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="SEQ")
    kind = UnicodeAttribute(default="sequence")
    value = NumberAttribute(default=0)


class IdempotencyModel(Model):
    class Meta:
        table_name = topology.DOSSIERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="IDEMPOTENCY")
    kind = UnicodeAttribute(default="idempotency")
    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    expires_at = NumberAttribute()


class CatalogueModel(Model):
    class Meta:
        table_name = topology.CATALOGUE.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = JSONAttribute()


class CounterModel(Model):
    class Meta:
        table_name = topology.COUNTERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)  # set in the shadow table only: a live counter is kept


class ShadowCounterModel(CounterModel):
    """A counter as a rebuild recounted it, in the shadow table; it expires a week after the rebuild wrote it."""

    class Meta:
        table_name = topology.COUNTERS_SHADOW.physical("local")


class AppliedEventModel(Model):
    class Meta:
        table_name = topology.COUNTERS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="APPLIED")
    expires_at = NumberAttribute()


class InboxIndex(GlobalSecondaryIndex["NotificationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = topology.BY_INBOX.name
        projection = AllProjection()

    inbox_owner = UnicodeAttribute(hash_key=True)
    inbox_sort = UnicodeAttribute(range_key=True)


class NotificationModel(Model):
    class Meta:
        table_name = topology.NOTIFICATIONS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="NOTIFICATION")
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    channel = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    dossier_id = UnicodeAttribute()
    dossier_code = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    agency_path = ListAttribute(of=UnicodeAttribute)
    recipient = UnicodeAttribute()  # personal data (phone, email): stays in this item, never in logs
    template = UnicodeAttribute()
    content = JSONAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    provider = UnicodeAttribute(null=True)
    attempts = ListAttribute(of=UnicodeAttribute, default=list)
    awaits_receipt = BooleanAttribute(default=False)
    read_at = UnicodeAttribute(null=True)
    inbox_owner = UnicodeAttribute(null=True)  # set on inbox notices only: makes the inbox index sparse
    inbox_sort = UnicodeAttribute(null=True)  # "{occurred_at}#{id}": newest event first, ties broken by id
    expires_at = NumberAttribute(null=True)
    by_inbox = InboxIndex()


class PreferencesModel(Model):
    class Meta:
        table_name = topology.NOTIFICATIONS.physical("local")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PREFERENCES")
    opted_out = ListAttribute(of=UnicodeAttribute, default=list)
    updated_at = UnicodeAttribute()


class DevOutboxModel(Model):
    class Meta:
        table_name = topology.NOTIFICATIONS.physical("local")

    pk = UnicodeAttribute(hash_key=True, default="DEV_OUTBOX")
    sk = UnicodeAttribute(range_key=True)
    entry = JSONAttribute()
    expires_at = NumberAttribute()


_TABLE_OF: dict[type[Model], topology.TableSpec] = {
    DossierModel: topology.DOSSIERS,
    HistoryModel: topology.DOSSIERS,
    OutboxModel: topology.DOSSIERS,
    SequenceModel: topology.DOSSIERS,
    IdempotencyModel: topology.DOSSIERS,
    PaymentModel: topology.DOSSIERS,
    ReceiptModel: topology.DOSSIERS,
    PostalCallbackModel: topology.DOSSIERS,
    CatalogueModel: topology.CATALOGUE,
    CounterModel: topology.COUNTERS,
    AppliedEventModel: topology.COUNTERS,
    ShadowCounterModel: topology.COUNTERS_SHADOW,
    NotificationModel: topology.NOTIFICATIONS,
    PreferencesModel: topology.NOTIFICATIONS,
    DevOutboxModel: topology.NOTIFICATIONS,
}


def bind_models(settings: Settings) -> None:
    """Point every model at the stage's tables. Endpoints come from botocore's own settings
    (`AWS_ENDPOINT_URL_DYNAMODB` locally), so the code path is the one used on AWS."""
    for model, spec in _TABLE_OF.items():
        meta: Any = model.Meta
        meta.table_name = settings.table(spec)
        meta.region = settings.region
        model._connection = None
