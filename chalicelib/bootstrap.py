"""The composition root: builds the real adapters once per container, lazily, and hands them out."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.config import Config
from pynamodb.connection import Connection

from chalicelib import topology
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.catalogue import province_root_code
from chalicelib.ids import new_id
from chalicelib.integrations.documents import DocumentStore, S3DocumentStore
from chalicelib.integrations.event_bus import EventBridgePublisher, Publisher
from chalicelib.integrations.gateway_config import load_gateways
from chalicelib.integrations.messaging_config import Messaging, load_messaging
from chalicelib.integrations.payment_gateway import GatewayName, PaymentGateway
from chalicelib.integrations.postal_config import load_partners
from chalicelib.integrations.postal_partner import HttpPostalPartner, PartnerConfig, PostalPartner, WebhookVerifier
from chalicelib.integrations.queues import SqsDeadLetters
from chalicelib.services.ports import (
    Calendars,
    Catalogue,
    CatalogueListings,
    Counters,
    DeadLetters,
    DossierReader,
    NotificationStore,
    PaperFreeDaysStore,
    PaymentReader,
    PostalQueue,
    RecountTable,
    UnitOfWork,
)
from chalicelib.settings import Settings
from chalicelib.store.calendar import CalendarRepository
from chalicelib.store.catalogue import CatalogueListingRepository, CatalogueRepository
from chalicelib.store.counters import CounterStore, CounterTable
from chalicelib.store.dossiers import DynamoDossiers
from chalicelib.store.models import ShadowCounterModel, bind_models
from chalicelib.store.notifications import DynamoDevOutbox, DynamoNotifications
from chalicelib.store.paper_free_days import PaperFreeDaysRepository
from chalicelib.store.payments import DynamoPayments
from chalicelib.store.postal import DynamoPostalQueue
from chalicelib.store.sequences import SequenceCache
from chalicelib.store.unit_of_work import DynamoUnitOfWork

if TYPE_CHECKING:
    from chalicelib.auth import TokenKeys
    from chalicelib.domain.targets import Target

SHADOW_KEPT = timedelta(days=7)  # a rebuild's recount, for investigating its differences
TARGETS_FILE = Path(__file__).resolve().parent / "seed" / "targets.json"


def utc_now() -> datetime:
    return datetime.now(UTC)


# Adapters a test may hand in (an in-memory fake for each; see tests/fakes.py); anything not given is built for real.
SWAPPABLE = frozenset({"catalogue", "listings", "dossiers", "calendars", "counters", "shadow_counters", "publisher",
                       "documents", "jwt_key", "token_keys", "unit_of_work", "paper_free_days", "payments",
                       "payment_gateways",
                       "postal_partner", "postal_webhooks", "postal_queue",
                       "notifications", "messaging", "dead_letters"})


@dataclass
class Container:
    settings: Settings
    now: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = new_id
    adapters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.adapters) - SWAPPABLE
        if unknown:
            raise ValueError(f"not swappable: {sorted(unknown)}")
        self.__dict__.update({k: v for k, v in self.adapters.items() if k != "unit_of_work"})  # cached_property slots

    @cached_property
    def _tables(self) -> Settings:
        """Point the pynamodb models at this stage's tables, once, before the first real DynamoDB adapter."""
        bind_models(self.settings)
        return self.settings

    @cached_property
    def catalogue(self) -> Catalogue:
        self._tables  # noqa: B018
        return CatalogueRepository(ttl_s=self.settings.catalogue_cache_s)

    @cached_property
    def listings(self) -> CatalogueListings:
        self._tables  # noqa: B018
        return CatalogueListingRepository(ttl_s=self.settings.catalogue_cache_s)

    @cached_property
    def dossiers(self) -> DossierReader:
        self._tables  # noqa: B018
        return DynamoDossiers()

    @cached_property
    def payments(self) -> PaymentReader:
        self._tables  # noqa: B018
        return DynamoPayments()

    @cached_property
    def payment_gateways(self) -> dict[GatewayName, PaymentGateway]:
        """The online payment gateways, configured once per container: from the environment in the local stage, from
        the Secrets Manager secret `dvc/{stage}/payment-gateways` in deployed ones."""
        return load_gateways(os.environ, lambda: boto3.client("secretsmanager", region_name=self.settings.region))

    @cached_property
    def targets(self) -> tuple[Target, ...]:
        """The province's targets (`chalicelib/seed/targets.json`, shipped with the code), parsed once."""
        from chalicelib.domain.targets import targets_from_data  # the reports' alone: not in every cold start

        return targets_from_data(json.loads(TARGETS_FILE.read_text(encoding="utf-8")))

    @cached_property
    def _postal_partners(self) -> tuple[str, dict[str, PartnerConfig]]:
        """The postal partners, configured once per container: from the environment in the local stage, from the
        Secrets Manager secret `dvc/{stage}/postal-partners` in deployed ones."""
        return load_partners(os.environ, lambda: boto3.client("secretsmanager", region_name=self.settings.region))

    @cached_property
    def postal_partner(self) -> PostalPartner:
        """The partner asked for shipments."""
        shipping, partners = self._postal_partners
        return HttpPostalPartner(partners[shipping])

    @cached_property
    def postal_webhooks(self) -> WebhookVerifier:
        """Every partner's active webhook secrets (two while one is rotated out)."""
        return WebhookVerifier({name: list(config.webhook_secrets) for name, config in self._postal_partners[1].items()})

    @cached_property
    def postal_queue(self) -> PostalQueue:
        self._tables  # noqa: B018
        return DynamoPostalQueue()

    @cached_property
    def dynamodb(self) -> Connection:
        """pynamodb's low-level connection, for transactions; thread-safe like the botocore client inside."""
        self._tables  # noqa: B018
        return Connection(region=self.settings.region)

    @cached_property
    def counters(self) -> Counters:
        return CounterStore(self.dynamodb, self.now)

    @cached_property
    def shadow_counters(self) -> RecountTable:
        """Where a rebuild writes its recount: the shadow table, each item kept `SHADOW_KEPT`."""
        self._tables  # noqa: B018
        return CounterTable(ShadowCounterModel, keep_for=SHADOW_KEPT, now=self.now)

    @cached_property
    def events_client(self) -> Any:
        return boto3.client("events", region_name=self.settings.region)

    @cached_property
    def publisher(self) -> Publisher:
        return EventBridgePublisher(self.events_client, self.settings.bus_name)

    @cached_property
    def documents(self) -> DocumentStore:
        # SigV4, so a presigned upload's headers (type, length, checksum) are part of its signature
        client = boto3.client("s3", region_name=self.settings.region, config=Config(signature_version="s3v4"))
        return S3DocumentStore(client, self.settings.documents_bucket, now=self.now)

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work for one command."""
        factory = self.adapters.get("unit_of_work")
        if factory is not None:
            return cast(UnitOfWork, factory())
        return DynamoUnitOfWork(self.dynamodb, self.catalogue, self.sequences)

    @cached_property
    def sequences(self) -> SequenceCache:
        """The last dossier number this container knows per agency and day, from which submissions guess the next."""
        return SequenceCache()

    @cached_property
    def ssm(self) -> Any:
        return boto3.client("ssm", region_name=self.settings.region)

    @cached_property
    def jwt_key(self) -> Any:
        """The token verification key, prepared once per container: the literal `JWT_KEY` (local stage), else the
        SSM SecureString `jwt_key_parameter` (deployed stages; the deployer puts the identity provider's key there)."""
        from chalicelib.auth import load_jwt_key  # PyJWT and cryptography: the API's alone, not every cold start

        return load_jwt_key(self.settings, self.ssm)

    @cached_property
    def token_keys(self) -> TokenKeys:
        """Where tokens' keys come from: the stage's Cognito pools' published key sets (each fetched on its first token,
        again only for a key id it does not hold), else the one key above."""
        from chalicelib.auth import StaticKey  # PyJWT: the API's alone, not every cold start
        from chalicelib.integrations.jwks import IssuerKeys, JwksKeys

        if self.settings.cognito_pools:
            return IssuerKeys({p.issuer: JwksKeys(p.jwks_url) for p in self.settings.cognito_pools})
        return StaticKey(self.jwt_key)

    @cached_property
    def calendars(self) -> Calendars:
        self._tables  # noqa: B018
        return CalendarRepository(province_root_code(self.settings.province_code), ttl_s=self.settings.catalogue_cache_s,
                                  seasons=self.settings.office_hours, same_day_cutoff=self.settings.same_day_cutoff)

    @cached_property
    def paper_free_days(self) -> PaperFreeDaysStore:
        self._tables  # noqa: B018
        return PaperFreeDaysRepository(ttl_s=self.settings.catalogue_cache_s)

    @cached_property
    def notifications(self) -> NotificationStore:
        self._tables  # noqa: B018
        return DynamoNotifications(self.now)

    @cached_property
    def messaging(self) -> Messaging:
        """The messaging providers in failover order: keys from the environment locally, from the Secrets Manager
        secret `dvc/{stage}/notification-providers` deployed (read once per container)."""
        return load_messaging(os.environ, lambda service: boto3.client(service, region_name=self.settings.region))

    @cached_property
    def dead_letters(self) -> DeadLetters:
        return SqsDeadLetters(boto3.client("sqs", region_name=self.settings.region),
                              topology.NOTIFICATION_FAILURES.physical(self.settings.stage))

    @cached_property
    def dev_outbox(self) -> DynamoDevOutbox | None:
        """Local stage only: every provider call, for `GET /v1/dev/outbox`."""
        self._tables  # noqa: B018
        return DynamoDevOutbox(self.now) if self.settings.is_local else None

    def calendar_for(self, year: int) -> WorkingCalendar:
        return self.calendars.for_year(year)


_container: Container | None = None


def container() -> Container:
    """The container of this process, built on first use from the environment."""
    global _container
    if _container is None:
        _container = Container(Settings.from_env())
    return _container
