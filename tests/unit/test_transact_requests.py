"""The unit of work's TransactWriteItems, built from the models' attribute definitions without model instances, is
the very request pynamodb's `TransactWrite` builds from model instances for the same writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from chalicelib.domain.errors import DomainError
from chalicelib.domain.history import HistoryEntry
from chalicelib.domain.idempotency import RememberedResponse
from chalicelib.store import dossiers as dossier_items
from chalicelib.store import transact
from chalicelib.store.models import DossierModel, HistoryModel, IdempotencyModel, OutboxModel, SequenceModel
from chalicelib.store.sequences import SequenceCache, sequence_key
from chalicelib.store.unit_of_work import DynamoUnitOfWork
from tests.samples import submitted
from tests.unit.test_actions import OWNER, dossier

AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class RecordingConnection:
    """Takes the commit's request instead of sending it."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.sent = request
        return {}


def committed(write: Any) -> dict[str, Any]:
    connection = RecordingConnection()
    uow = DynamoUnitOfWork(connection, catalogue=None, sequences=SequenceCache())  # type: ignore[arg-type]
    write(uow)
    uow.commit()
    return connection.sent


def entry(version: int) -> HistoryEntry:
    return HistoryEntry(version=version, at=AT, actor=OWNER, action="submit", from_status=None, to_status="registered",
                        request_id="req-1")


def pynamodb_put(model: type[Model], values: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    if model is not DossierModel:
        instance = model(**values)
    else:  # versioned: pynamodb writes the version read + 1 (1 for a new item) on condition of the one read
        instance = model(**{k: v for k, v in values.items() if k != "version"})
        if values.get("version", 1) > 1:
            instance.version = values["version"] - 1  # type: ignore[attr-defined]
    expected: dict[str, Any] = instance.get_save_kwargs_from_instance(**kwargs)
    return expected


def test_a_submission_sends_what_pynamodb_would_send() -> None:
    new = dataclasses.replace(dossier(), version=0, events=[submitted()])
    key = sequence_key(new.agency_code, AT.date())
    answer = RememberedResponse("hash", 201, {"id": new.id, "code": new.code})

    def submit(uow: DynamoUnitOfWork) -> None:
        uow.sequences.lost(key, 6)  # as a lost guess would teach it: the sequence holds 6
        assert uow.next_sequence(new.agency_code, AT.date()) == 7
        uow.add_dossier(dataclasses.replace(new, events=list(new.events)), entry(1))
        uow.remember(OWNER.user_id, "key-1", answer, AT)

    sent = committed(submit)
    history = dossier_items.history_values(new.id, entry(1))
    outbox = dossier_items.outbox_values(new.id, 1, 0, new.events[0])
    idempotency = {"pk": f"IDEMPOTENCY#{OWNER.user_id}#key-1", "request_hash": "hash", "status_code": 201,
                   "response": answer.body, "expires_at": int(datetime(2026, 11, 3, 1, 0, tzinfo=UTC).timestamp())}
    assert sent["put_items"] == [
        pynamodb_put(DossierModel, dossier_items.dossier_values(new), condition=DossierModel.pk.does_not_exist()),
        pynamodb_put(HistoryModel, history),
        pynamodb_put(OutboxModel, outbox),
        pynamodb_put(IdempotencyModel, idempotency, condition=IdempotencyModel.pk.does_not_exist(),
                     return_values_on_condition_failure="ALL_OLD"),
    ]
    assert sent["update_items"] == [SequenceModel(key, "SEQ").get_update_kwargs_from_instance(
        actions=[SequenceModel.value.set(7)], condition=SequenceModel.value == 6,
        return_values_on_condition_failure="ALL_OLD",
    )]


def test_a_change_is_written_on_condition_of_the_version_read() -> None:
    read = dataclasses.replace(dossier(), version=3)
    sent = committed(lambda uow: uow.update_dossier(read, entry(4)))
    values = {**dossier_items.dossier_values(read), "version": 4}
    assert sent["put_items"][0] == pynamodb_put(DossierModel, values)
    assert sent["put_items"][0]["ConditionExpression"] == "#0 = :0"
    assert sent["put_items"][0]["ExpressionAttributeValues"] == {":0": {"N": "3"}}


def test_unknown_attributes_and_missing_required_ones_are_refused() -> None:
    with pytest.raises(ValueError, match="no attribute"):
        transact.serialize(SequenceModel, {"pk": "SEQ#X", "colour": "red"})
    with pytest.raises(ValueError, match="is required"):
        transact.serialize(HistoryModel, {"pk": "DOSSIER#1", "sk": "HISTORY#00000001"})


class FailingConnection:
    """Answers a commit with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        raise self.error


@pytest.mark.parametrize(("cause", "given_back"), [
    (ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems"), True),
    (ReadTimeoutError(endpoint_url="http://dynamodb"), False),  # it may have been written: the number stays spent
])
def test_a_held_number_goes_back_only_when_the_transaction_certainly_did_not_happen(cause: Exception,
                                                                                      given_back: bool) -> None:
    key = sequence_key("T46.X01", AT.date())
    sequences = SequenceCache()
    sequences.took(key, 5, 6)  # 5 used elsewhere, 6 held
    uow = DynamoUnitOfWork(FailingConnection(TransactWriteError("failed", cause=cause)),  # type: ignore[arg-type]
                           catalogue=None, sequences=sequences)  # type: ignore[arg-type]
    assert uow.next_sequence("T46.X01", AT.date()) == 6
    uow.add_dossier(dataclasses.replace(dossier(), version=0, events=[submitted()]), entry(1))
    with pytest.raises(DomainError):
        uow.commit()
    assert sequences.claim(key).number == (6 if given_back else 7)
