"""Submissions from several containers at once, for `make bench`: spread over agencies, or all at one.

Each simulated container has its own `SequenceCache` (what it last saw of each agency's numbers and the numbers it
holds), as each Lambda container has, and runs the submission use case in a thread of its own against the shared
DynamoDB engine, back to back: a warm-up, then the measured submissions (sustained load, the containers warm); the
botocore hooks count every request, the lost guesses' cancelled transactions included.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.domain.dossier import Applicant, Document, SubmitDossier
from chalicelib.domain.history import Actor
from chalicelib.domain.vocabulary import ApplicantKind, Channel, ResultDelivery
from chalicelib.store.sequences import SequenceCache
from chalicelib.store.unit_of_work import DynamoUnitOfWork

CONTAINERS = 8  # concurrent containers at one agency: a commune's whole peak, many times over
EACH = 100  # measured submissions per container, right after the warm-up


def submit_concurrently(c: Any, bodies: list[dict[str, Any]], warm_s: float,
                        measure: Callable[[], object]) -> list[dict[str, Any]]:
    """Each container in its own thread submits back to back, each time one of `bodies` (online ones) at random: for
    `warm_s` seconds, then EACH more; `measure()` runs once all the containers are through their warm-up (and before
    any goes on). Their answers, in no order."""
    from chalicelib.handlers.views import dossier_view
    from chalicelib.services.submission import submit_dossier

    actor = Actor(user_id="bench-crowd", role="citizen", display_name="Bench")
    applicant = Applicant(kind=ApplicantKind.CITIZEN, name="Nguyễn Văn A", national_id="046190000123",
                          phone="0912345678", email=None)
    commands = [SubmitDossier(
        owner_id=actor.user_id, procedure_code=body["procedure_code"], agency_code=body["agency_code"],
        channel=Channel.ONLINE, applicant=applicant, result_delivery=ResultDelivery.ONLINE,
        documents=tuple(Document(d["type"], d["name"]) for d in body["documents"]),
    ) for body in bodies]
    start, warm = threading.Barrier(CONTAINERS), threading.Barrier(CONTAINERS, action=measure)

    def container_run(_: int) -> list[dict[str, Any]]:
        sequences = SequenceCache()  # this container's own knowledge of the numbers
        start.wait()
        warm_until = time.monotonic() + warm_s
        answers = []
        while time.monotonic() < warm_until:
            answers.append(submit(sequences))
        warm.wait()
        return answers + [submit(sequences) for _ in range(EACH)]

    def submit(sequences: SequenceCache) -> dict[str, Any]:
        now = c.now()
        uow = DynamoUnitOfWork(c.dynamodb, c.catalogue, sequences)
        return submit_dossier(
            random.choice(commands), uow, actor=actor, calendar_for=c.calendar_for, now=now, new_id=c.new_id,
            render=_renderer(dossier_view, now, actor),
        ).body

    with ThreadPoolExecutor(max_workers=CONTAINERS) as pool:
        return list(itertools.chain.from_iterable(pool.map(container_run, range(CONTAINERS))))


def _renderer(view: Callable[..., dict[str, Any]], now: Any, actor: Actor) -> Callable[[Any], dict[str, Any]]:
    return lambda dossier: view(dossier, now, actor)
