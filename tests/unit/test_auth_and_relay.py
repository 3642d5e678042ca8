"""Bearer tokens into actors, the outbox relay against a fake bus, and the local stream filter."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from chalicelib.auth import actor_from_header, mint_dev_token
from chalicelib.domain.errors import DomainError, ForbiddenError, UnauthorizedError
from chalicelib.domain.events import DossierSubmitted
from chalicelib.domain.history import Actor
from chalicelib.domain.roles import ROLES
from chalicelib.integrations.event_bus import OutgoingEvent
from chalicelib.services.relay import OutboxRecord, relay
from chalicelib.settings import Settings
from chalicelib.topology import OUTBOX_KIND, RELAY_MAPPING, EventType
from infra.local.event_sources import matches
from tests.samples import nth_event_id

SETTINGS = Settings(
    stage="local",
    region="ap-southeast-1",
    province_code=46,
    jwt_algorithm="HS256",
    jwt_key="local-development-key-0123456789abcdef",
    jwt_issuer="dvc-local",
    jwt_audience="dvc-api",
)


def token(settings: Settings = SETTINGS, *, role: str = "officer", agency: str | None = "T46.X01",
          now: datetime | None = None, ttl: timedelta = timedelta(hours=1)) -> str:
    return mint_dev_token(
        settings, role=role, sub="user-7", name="Trần Thị Lan", agency=agency, ttl=ttl,
        now=now or datetime.now(UTC),
    )


def refused(authorization: str | None, settings: Settings = SETTINGS) -> DomainError:
    with pytest.raises(DomainError) as caught:
        actor_from_header(authorization, settings)
    return caught.value


# --- auth ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_minted_token_reads_back_as_its_actor(role: str) -> None:
    actor = actor_from_header(f"Bearer {token(role=role)}", SETTINGS)
    assert actor == Actor(user_id="user-7", role=role, display_name="Trần Thị Lan", agency_code="T46.X01")


def test_a_token_without_an_agency_gives_an_actor_without_one() -> None:
    actor = actor_from_header(f"Bearer {token(role='citizen', agency=None)}", SETTINGS)
    assert actor.agency_code is None
    assert actor.is_applicant


def test_a_minted_token_is_hs256_with_the_settings_issuer_and_audience() -> None:
    minted = token()
    assert jwt.get_unverified_header(minted)["alg"] == "HS256"
    claims = jwt.decode(minted, SETTINGS.jwt_key, algorithms=["HS256"], audience="dvc-api")
    assert claims["iss"] == "dvc-local"
    assert claims["exp"] - claims["iat"] == 3600


def test_an_expired_token_is_refused_as_expired() -> None:
    expired = token(now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1))
    error = refused(f"Bearer {expired}")
    assert isinstance(error, UnauthorizedError)
    assert error.code == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "UNAUTHENTICATED"),
        ("", "UNAUTHENTICATED"),
        ("Basic dXNlcjpwYXNz", "UNAUTHENTICATED"),
        ("{token}", "UNAUTHENTICATED"),
        ("Bearer", "UNAUTHENTICATED"),
        ("Bearer ", "UNAUTHENTICATED"),
        ("Bearer garbage", "TOKEN_INVALID"),
        ("Bearer a.b.c", "TOKEN_INVALID"),
        ("Bearer {token}x", "TOKEN_INVALID"),
        ("Bearer {wrong_key}", "TOKEN_INVALID"),
        ("Bearer {wrong_audience}", "TOKEN_INVALID"),
        ("Bearer {wrong_issuer}", "TOKEN_INVALID"),
        ("Bearer {unsigned}", "TOKEN_INVALID"),
        ("Bearer {no_role}", "TOKEN_INVALID"),
        ("Bearer {no_exp}", "TOKEN_INVALID"),
    ],
)
def test_bad_headers_are_unauthorised(authorization: str | None, code: str) -> None:
    now = datetime.now(UTC)
    exp = int((now + timedelta(hours=1)).timestamp())
    claims = {"sub": "u", "role": "citizen", "iss": "dvc-local", "aud": "dvc-api", "exp": exp}
    tokens = {
        "token": token(),
        "wrong_key": token(dataclasses.replace(SETTINGS, jwt_key="another-development-key-0123456789abcdef")),
        "wrong_audience": token(dataclasses.replace(SETTINGS, jwt_audience="someone-else")),
        "wrong_issuer": token(dataclasses.replace(SETTINGS, jwt_issuer="evil")),
        "unsigned": jwt.encode(claims, "", algorithm="none"),
        "no_role": jwt.encode({k: v for k, v in claims.items() if k != "role"}, SETTINGS.jwt_key, algorithm="HS256"),
        "no_exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, SETTINGS.jwt_key, algorithm="HS256"),
    }
    header = authorization.format(**tokens) if authorization is not None else None
    error = refused(header)
    assert isinstance(error, UnauthorizedError)
    assert error.code == code


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    actor = actor_from_header(f"{scheme} {token()}", SETTINGS)
    assert actor.user_id == "user-7"


@pytest.mark.parametrize("role", ["superuser", "", "Admin", "root"])
def test_a_role_outside_the_known_roles_is_forbidden(role: str) -> None:
    error = refused(f"Bearer {token(role=role)}")
    assert isinstance(error, ForbiddenError)
    assert error.code == "ROLE_UNKNOWN"


@pytest.mark.parametrize(
    "settings",
    [
        dataclasses.replace(SETTINGS, stage="prod"),
        dataclasses.replace(SETTINGS, stage="staging"),
        dataclasses.replace(SETTINGS, stage="dev"),
        dataclasses.replace(SETTINGS, jwt_algorithm="RS256"),
    ],
    ids=["prod", "staging", "dev", "local-rs256"],
)
def test_minting_is_refused_outside_the_local_stage(settings: Settings) -> None:
    with pytest.raises(ForbiddenError) as caught:
        token(settings)
    assert caught.value.code == "DEV_ONLY"


# --- relay -----------------------------------------------------------------------------------------------


class FakePublisher:
    """A bus that refuses the entries at chosen positions on chosen attempts and keeps what it accepted."""

    def __init__(self, refuse: dict[int, set[int]] | None = None) -> None:
        self.refuse = refuse or {}
        self.attempts = 0
        self.accepted: list[OutgoingEvent] = []
        self.offered: list[list[str]] = []  # event ids offered, call by call

    def publish(self, events: Sequence[OutgoingEvent]) -> list[int]:
        refused = self.refuse.get(self.attempts, set())
        self.attempts += 1
        self.offered.append([event.detail["event_id"] for event in events])
        self.accepted.extend(event for position, event in enumerate(events) if position not in refused)
        return sorted(position for position in refused if position < len(events))

    @property
    def accepted_ids(self) -> list[str]:
        return [event.detail["event_id"] for event in self.accepted]


def detail(n: int) -> dict[str, Any]:
    return DossierSubmitted(
        event_id=nth_event_id(n), occurred_at=datetime(2026, 11, 2, 3, n, tzinfo=UTC), dossier_id=f"{n:032x}",
        dossier_code=f"T46.X01-261102-{n:04d}", procedure_code="1.001193", agency_code="T46.X01",
        agency_path=("T46", "T46.X01"), agency_level="commune", channel="online", online_form="full",
        applicant_kind="citizen", status="registered", status_code=1, fees_total=0,
    ).detail()


def record(n: int, body: dict[str, Any] | None = None) -> OutboxRecord:
    return OutboxRecord(
        record_id=f"seq-{n}", event_type=EventType.DOSSIER_SUBMITTED, schema=DossierSubmitted.schema,
        detail=body if body is not None else detail(n),
    )


def no_sleep(_: float) -> None:
    return None


def test_every_valid_event_is_published_once() -> None:
    bus = FakePublisher()
    result = relay([record(n) for n in range(1, 6)], bus, sleep=no_sleep)
    assert result.published == 5
    assert result.failed_record_ids == []
    assert result.invalid_record_ids == []
    assert bus.accepted_ids == [nth_event_id(n) for n in range(1, 6)]
    assert bus.attempts == 1
    assert all(event.event_type == "DossierSubmitted" for event in bus.accepted)
    assert bus.accepted[0].detail == detail(1)


def test_entries_refused_once_are_retried_and_published() -> None:
    bus = FakePublisher(refuse={0: {1, 3}})
    delays: list[float] = []
    result = relay([record(n) for n in range(1, 6)], bus, sleep=delays.append)
    assert result.published == 5
    assert result.failed_record_ids == []
    assert bus.offered == [[nth_event_id(n) for n in range(1, 6)], [nth_event_id(2), nth_event_id(4)]]
    assert sorted(bus.accepted_ids) == [nth_event_id(n) for n in range(1, 6)]
    assert len(set(bus.accepted_ids)) == 5
    assert delays == [0.2]


def test_entries_refused_on_every_attempt_are_returned_as_failed() -> None:
    # attempt 0 refuses seq-2 and seq-4; attempt 1 (pending seq-2, seq-4) refuses seq-4; attempt 2 refuses it again
    bus = FakePublisher(refuse={0: {1, 3}, 1: {1}, 2: {0}})
    delays: list[float] = []
    result = relay([record(n) for n in range(1, 6)], bus, sleep=delays.append)
    assert result.published == 4
    assert result.failed_record_ids == ["seq-4"]
    assert result.invalid_record_ids == []
    assert sorted(bus.accepted_ids) == [nth_event_id(1), nth_event_id(2), nth_event_id(3), nth_event_id(5)]
    assert bus.attempts == 3
    assert delays == [0.2, 0.4]


def test_a_bus_refusing_everything_fails_everything() -> None:
    bus = FakePublisher(refuse={attempt: set(range(10)) for attempt in range(3)})
    result = relay([record(n) for n in range(1, 4)], bus, attempts=3, sleep=no_sleep)
    assert result.published == 0
    assert result.failed_record_ids == ["seq-1", "seq-2", "seq-3"]
    assert bus.accepted == []


@pytest.mark.parametrize(
    "broken",
    [
        {**detail(2), "status_code": 11},
        {**detail(2), "applicant_name": "Nguyễn Văn An"},  # personal data has no place on the bus
        {k: v for k, v in detail(2).items() if k != "dossier_code"},
        {**detail(2), "occurred_at": "2026-11-02 10:00"},
        {**detail(2), "event_id": "short"},
        {},
    ],
    ids=["status-code", "extra-property", "missing-field", "occurred-at", "event-id", "empty"],
)
def test_an_event_breaking_its_schema_is_never_published(broken: dict[str, Any]) -> None:
    bus = FakePublisher()
    result = relay([record(1), record(2, broken), record(3)], bus, sleep=no_sleep)
    assert result.invalid_record_ids == ["seq-2"]
    assert result.failed_record_ids == ["seq-2"]
    assert result.published == 2
    assert bus.accepted_ids == [nth_event_id(1), nth_event_id(3)]


def test_invalid_and_refused_entries_are_both_reported() -> None:
    bus = FakePublisher(refuse={0: {0}, 1: {0}, 2: {0}})
    result = relay([record(1), record(2, {}), record(3)], bus, sleep=no_sleep)
    assert result.invalid_record_ids == ["seq-2"]
    assert sorted(result.failed_record_ids) == ["seq-1", "seq-2"]
    assert bus.accepted_ids == [nth_event_id(3)]


def test_nothing_to_relay_publishes_nothing() -> None:
    bus = FakePublisher()
    result = relay([], bus, sleep=no_sleep)
    assert (result.published, result.failed_record_ids, result.invalid_record_ids) == (0, [], [])
    assert bus.attempts == 0


# --- the local stream filter -----------------------------------------------------------------------------


def stream_record(event_name: str, kind: str) -> dict[str, Any]:
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"pk": {"S": "DOSSIER#dos-1"}, "sk": {"S": "OUTBOX#evt-1"}},
            "NewImage": {"pk": {"S": "DOSSIER#dos-1"}, "kind": {"S": kind}, "version": {"N": "1"}},
            "SequenceNumber": "100",
        },
    }


@pytest.mark.parametrize(
    ("record_", "expected"),
    [
        (stream_record("INSERT", OUTBOX_KIND), True),
        (stream_record("MODIFY", OUTBOX_KIND), False),
        (stream_record("REMOVE", OUTBOX_KIND), False),
        (stream_record("INSERT", "dossier"), False),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "x"}}}}, False),  # no NewImage
        ({"eventName": "INSERT", "dynamodb": {"NewImage": {"pk": {"S": "x"}}}}, False),  # no kind
        ({"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"N": "1"}}}}, False),  # kind of another type
        ({"dynamodb": stream_record("INSERT", OUTBOX_KIND)["dynamodb"]}, False),  # no eventName
    ],
    ids=["insert-outbox", "modify-outbox", "remove-outbox", "insert-dossier", "no-new-image", "no-kind", "kind-number",
         "no-event-name"],
)
def test_relay_filter_pattern(record_: dict[str, Any], expected: bool) -> None:
    assert matches(RELAY_MAPPING.filter_pattern, record_) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ({"a": {"b": ["x"]}}, {"a": {"b": "x"}}, True),
        ({"a": {"b": ["x"]}}, {"a": {"b": "y"}}, False),
        ({"a": {"b": ["x"]}}, {"a": {"c": "x"}}, False),
        ({"a": {"b": ["x"]}}, {"a": "x"}, False),
        ({"a": {"b": ["x"]}}, {}, False),
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x", "y"]}, {"a": "z"}, False),
        ({"a": []}, {"a": "x"}, False),
        ({"a": [1, 2]}, {"a": 2}, True),
        ({"a": [{"prefix": "OUT"}]}, {"a": "OUTBOX#1"}, True),
        ({"a": [{"prefix": "OUT"}]}, {"a": "DOSSIER#1"}, False),
        ({"a": [{"prefix": "OUT"}]}, {"a": 5}, False),
        ({"a": [{"prefix": ""}]}, {"a": "anything"}, True),
        ({"a": ["x", {"prefix": "OUT"}]}, {"a": "x"}, True),
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "y", "c": "extra"}, True),
        ({"a": ["x"], "b": ["y"]}, {"a": "x"}, False),
        ({}, {"anything": 1}, True),
        ({"a": ["x"]}, "not a dict", False),
    ],
)
def test_matches(pattern: Any, value: Any, expected: bool) -> None:
    assert matches(pattern, value) is expected


@pytest.mark.parametrize(
    "odd",
    [
        OutboxRecord(record_id="seq-9", event_type="DossierExploded", schema="dossier-exploded.v1.json", detail={}),
        OutboxRecord(record_id="seq-9", event_type=EventType.DOSSIER_SUBMITTED, schema="error.v1.json", detail=detail(9)),
        OutboxRecord(record_id="seq-9", event_type=EventType.DOSSIER_SUBMITTED, schema=DossierSubmitted.schema, detail=None),
    ],
    ids=["unknown-type", "schema-not-the-types", "unreadable-detail"],
)
def test_an_outbox_item_that_cannot_be_checked_is_reported_not_published(odd: OutboxRecord) -> None:
    bus = FakePublisher()
    result = relay([record(1), odd], bus, sleep=no_sleep)
    assert bus.accepted_ids == [nth_event_id(1)]
    assert result.invalid_record_ids == ["seq-9"] and result.failed_record_ids == ["seq-9"]
