"""The composition root: builds the real adapters once per container, lazily, and hands them out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from pynamodb.connection import Connection

from chalicelib.auth import load_jwt_key
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.catalogue import province_root_code
from chalicelib.ids import new_id
from chalicelib.integrations.documents import S3DocumentStore
from chalicelib.integrations.event_bus import EventBridgePublisher
from chalicelib.settings import Settings
from chalicelib.store.calendar import CalendarRepository
from chalicelib.store.catalogue import CatalogueRepository
from chalicelib.store.counters import CounterStore
from chalicelib.store.models import bind_models
from chalicelib.store.unit_of_work import DynamoUnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    now: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = new_id

    def __post_init__(self) -> None:
        bind_models(self.settings)

    @cached_property
    def catalogue(self) -> CatalogueRepository:
        return CatalogueRepository(ttl_s=self.settings.catalogue_cache_s)

    @cached_property
    def dynamodb(self) -> Connection:
        """pynamodb's low-level connection, for transactions; thread-safe like the botocore client inside."""
        return Connection(region=self.settings.region)

    @cached_property
    def counters(self) -> CounterStore:
        return CounterStore(self.dynamodb, self.now)

    @cached_property
    def events_client(self) -> Any:
        return boto3.client("events", region_name=self.settings.region)

    @cached_property
    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(self.events_client, self.settings.bus_name)

    @cached_property
    def documents(self) -> S3DocumentStore:
        # SigV4, so a presigned upload's headers (type, length, checksum) are part of its signature
        client = boto3.client("s3", region_name=self.settings.region, config=Config(signature_version="s3v4"))
        return S3DocumentStore(client, self.settings.documents_bucket, now=self.now)

    def unit_of_work(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self.dynamodb, self.catalogue)

    @cached_property
    def ssm(self) -> Any:
        return boto3.client("ssm", region_name=self.settings.region)

    @cached_property
    def jwt_key(self) -> Any:
        """The token verification key, prepared once per container: the literal `JWT_KEY` (local stage), else the
        SSM SecureString `jwt_key_parameter` (deployed stages; the deployer puts the identity provider's key there)."""
        return load_jwt_key(self.settings, self.ssm)

    @cached_property
    def calendars(self) -> CalendarRepository:
        return CalendarRepository(province_root_code(self.settings.province_code), ttl_s=self.settings.catalogue_cache_s)

    def calendar_for(self, year: int) -> WorkingCalendar:
        return self.calendars.for_year(year)


_container: Container | None = None


def container() -> Container:
    """The container of this process, built on first use from the environment."""
    global _container
    if _container is None:
        _container = Container(Settings.from_env())
    return _container
