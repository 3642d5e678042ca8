"""The list prices the cost per dossier is computed with: AWS in ap-southeast-1 (Singapore), USD, no free tier.

Each price says where it comes from. This machine reaches no AWS pricing page (and those pages fill in regional
prices in the browser), so a regional price that could not be read from a published source is marked as an
assumption; check it against https://aws.amazon.com/{service}/pricing/ (region Asia Pacific (Singapore)) before
quoting the figure. Read on 2026-11-26.
"""

from __future__ import annotations

from dataclasses import dataclass

REGION = "ap-southeast-1"
READ_ON = "2026-11-26"


@dataclass(frozen=True)
class Price:
    usd: float  # for `per` units
    per: float
    unit: str
    source: str  # published where, or "assumption: why this figure"

    def of(self, quantity: float) -> float:
        return quantity / self.per * self.usd


DYNAMODB_WRU = Price(0.7116, 1e6, "on-demand write request unit", (
    "assumption: Singapore's on-demand rate before 1 Nov 2024 ($1.4231/M) halved by the 50% on-demand reduction of that "
    "date (us-east-1 went $1.25 → $0.625/M, as published)"))
DYNAMODB_RRU = Price(0.1425, 1e6, "on-demand read request unit", (
    "assumption: Singapore's $0.285/M before 1 Nov 2024, halved (us-east-1 $0.25 → $0.125/M)"))
DYNAMODB_STREAM_READ = Price(0.0, 1e6, "stream read request by a Lambda trigger", (
    "DynamoDB pricing page: GetRecords calls made by Lambda triggers are free"))
EVENTBRIDGE_EVENT = Price(1.00, 1e6, "custom event (64 KB chunk) put on a bus", (
    "EventBridge pricing page: $1.00/M custom events, every region; each 64 KB of an entry is one event"))
EVENTBRIDGE_ARCHIVE_GB = Price(0.10, 1.0, "GB of events archived", "EventBridge pricing page: archive processing $0.10/GB")
SQS_REQUEST = Price(0.40, 1e6, "standard queue request (64 KB chunk)", (
    "SQS pricing page: $0.40/M standard requests after the first 1M; assumption: the same in Singapore"))
LAMBDA_REQUEST = Price(0.20, 1e6, "Lambda invocation", "Lambda pricing page: $0.20/M requests, every region")
LAMBDA_GB_SECOND = Price(0.0000166667, 1.0, "x86 GB-second", (
    "Lambda pricing page, first tier; Singapore is not among the regions priced otherwise (Cape Town, Hong Kong, Milan, "
    "Bahrain, UAE)"))
API_GATEWAY_REST = Price(4.25, 1e6, "REST API request", (
    "assumption: Singapore's first-333M tier; us-east-1 is $3.50/M (AWS whitepaper 'Best practices for API Gateway "
    "private APIs', cost optimisation)"))
SES_EMAIL = Price(0.10, 1000, "email sent by SES", "SES pricing page: $0.10 per 1,000 emails")
LOGS_GB = Price(0.70, 1.0, "GB of logs ingested (standard class)", (
    "assumption: Singapore's CloudWatch Logs ingestion; us-east-1 is $0.50/GB"))
LOG_BYTES_PER_INVOCATION = 600  # assumption: Lambda's START/END/REPORT lines (~300 B) plus one JSON line of ours
