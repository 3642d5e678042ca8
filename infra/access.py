"""What each Lambda function touches, one row per function: the data each function's own role policy is built from.

`infra.cloudformation` renders a policy per row, naming those tables, indexes, queues, buckets, parameters and
secrets and nothing else. What the Lambda service does with a function's role on its behalf (reading the stream or
queue of its mapping, sending a failed batch or run to its on-failure destination) follows from the topology's
mappings and schedules and is not repeated here. `tests/policy/` checks every AWS call the test suite saw a function
make against that function's policy alone, so a row that forgets something fails `make test`.

A new function's permissions are one row, as the counter rebuild's below (its shadow table in `TABLES`). The rows
are also the list of functions (`cloudformation.functions()`): the row gives the function its policy and log group,
and the tests hold the rows equal to the app's functions and to `.chalice/config.json`'s limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import topology
from chalicelib.topology import (
    BY_AGENCY,
    BY_AGENCY_STATUS,
    BY_DUE,
    BY_INBOX,
    BY_OWNER,
    BY_PENDING_PAYMENT,
    BY_POSTAL,
    CATALOGUE,
    COUNTERS,
    COUNTERS_MAPPING,
    COUNTERS_SHADOW,
    DEADLINE_WATCH_SCHEDULE,
    DOCUMENTS_BUCKET,
    DOSSIERS,
    JWT_KEY_PARAMETER,
    NOTIFICATION_FAILURES,
    NOTIFICATION_PROVIDERS_SECRET,
    NOTIFICATIONS,
    NOTIFICATIONS_MAPPING,
    PAYMENT_GATEWAYS_SECRET,
    POSTAL_MAPPING,
    POSTAL_PARTNERS_SECRET,
    REBUILD_FUNCTION,
    RECONCILE_PAYMENTS_SCHEDULE,
    RELAY_MAPPING,
    BucketSpec,
    Index,
    ParameterSpec,
    QueueSpec,
    SecretSpec,
    TableSpec,
)

# The function behind the REST API (Chalice's `api_handler`, logical id `APIHandler`).
API_FUNCTION = "api"


@dataclass(frozen=True)
class Access:
    function: str
    reads: tuple[TableSpec, ...] = ()  # GetItem, BatchGetItem, Query, DescribeTable, ConditionCheckItem
    writes: tuple[TableSpec, ...] = ()  # the reads, and PutItem, UpdateItem, DeleteItem, BatchWriteItem
    queries: tuple[Index, ...] = ()  # indexes it queries, each on the table of `TABLES` that has it
    publishes: bool = False  # PutEvents on the stage's bus
    sends: tuple[QueueSpec, ...] = ()  # queues it sends to itself, found by name (GetQueueUrl)
    buckets: tuple[BucketSpec, ...] = ()  # objects read and written (presigned uploads included), keys listed
    parameters: tuple[ParameterSpec, ...] = ()
    secrets: tuple[SecretSpec, ...] = ()
    sms: bool = False  # SNS Publish to phone numbers: authorised only on "*"
    email: bool = False  # SES SendEmail from the stage's identities


ACCESS: tuple[Access, ...] = (
    # Every route: dossiers and their history, the catalogue and calendar (admins edit them), the reports' counters,
    # the inbox; the admin routes run the deadline watch, the reconciliation and a rebuild on demand, so it has their
    # needs too.
    Access(API_FUNCTION, writes=(DOSSIERS, CATALOGUE, COUNTERS, NOTIFICATIONS, COUNTERS_SHADOW),
           queries=(BY_OWNER, BY_AGENCY, BY_AGENCY_STATUS, BY_DUE, BY_PENDING_PAYMENT, BY_POSTAL, BY_INBOX),
           buckets=(DOCUMENTS_BUCKET,), parameters=(JWT_KEY_PARAMETER,),
           secrets=(PAYMENT_GATEWAYS_SECRET, POSTAL_PARTNERS_SECRET, NOTIFICATION_PROVIDERS_SECRET)),
    # Reads the dossiers' stream (its mapping) and publishes: no table of its own.
    Access(RELAY_MAPPING.function, publishes=True),
    Access(COUNTERS_MAPPING.function, writes=(COUNTERS,)),
    # Asks the partner for a pickup and records the shipment on the dossier; due dates need the calendar.
    Access(POSTAL_MAPPING.function, reads=(CATALOGUE,), writes=(DOSSIERS,), secrets=(POSTAL_PARTNERS_SECRET,)),
    # Reads the dossier and agency a notice names, stores the notice, counts what was sent, tells providers.
    Access(NOTIFICATIONS_MAPPING.function, reads=(DOSSIERS, CATALOGUE), writes=(NOTIFICATIONS, COUNTERS),
           sends=(NOTIFICATION_FAILURES,), secrets=(NOTIFICATION_PROVIDERS_SECRET,), sms=True, email=True),
    # Marks dossiers due soon or late from the due index; on the 1st, the month-end snapshot into the counters.
    Access(DEADLINE_WATCH_SCHEDULE.function, reads=(CATALOGUE,), writes=(DOSSIERS, COUNTERS), queries=(BY_DUE,)),
    Access(RECONCILE_PAYMENTS_SCHEDULE.function, reads=(CATALOGUE,), writes=(DOSSIERS,), queries=(BY_PENDING_PAYMENT,),
           secrets=(PAYMENT_GATEWAYS_SECRET,)),
    # Recounts a period from every agency's dossiers (the agency index) into the shadow table; compares with live.
    Access(REBUILD_FUNCTION, reads=(DOSSIERS, CATALOGUE, COUNTERS), writes=(COUNTERS_SHADOW,), queries=(BY_AGENCY,)),
)
BY_FUNCTION: dict[str, Access] = {row.function: row for row in ACCESS}


def table_of(index: Index) -> TableSpec:
    (table,) = [t for t in topology.TABLES if index in t.indexes]
    return table
