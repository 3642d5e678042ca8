"""What a container knows of each agency's day sequence, and the numbers it holds: the next number's guess, and
blocks of numbers reserved ahead while other containers take numbers at the same agency at a high rate."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

# A guess that loses this many times in one command is contention (many containers on one agency): the command
# then takes its number with an atomic ADD outside its transaction (unique always).
GUESSES = 3
# A block's size is the numbers this container took at the agency in the last RATE_WINDOW seconds (its own rate),
# at most MAX_BLOCK; numbers held longer than BLOCK_LIFE are dropped (gaps): numbers from different containers'
# blocks interleave by at most that long, and a container leaves at most MAX_BLOCK - 1 unused per agency.
RATE_WINDOW = 120.0
BLOCK_LIFE = 300.0
MAX_BLOCK = 16


def sequence_key(agency_code: str, day: date) -> str:
    return f"SEQ#{agency_code}#{day:%y%m%d}"


@dataclass(frozen=True)
class Claim:
    """A number for one submission. `reserve_to` None: the number is from a block this container reserved, the
    transaction writes nothing of the sequence. Otherwise a guess: the transaction sets the sequence to `reserve_to`
    on condition that it held `number - 1` (a block of one when `reserve_to == number`)."""

    key: str
    number: int
    reserve_to: int | None


@dataclass
class _Sequence:
    last: int = 0  # the highest value the container has seen the sequence hold
    held: deque[int] = field(default_factory=deque)  # reserved by this container, not used yet, ascending
    reserved_at: float = float("-inf")
    lost_at: float = float("-inf")  # when a guess here last lost: another container took numbers
    taken: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_BLOCK))  # when it took its recent numbers here


class SequenceCache:
    """Per sequence key, one per container, shared by its units of work (and its threads, locally).

    Alone at an agency, a container guesses last + 1 with a block of one: dense, in time order, one round trip. When
    a guess loses, others are taking numbers there too; from then on, for BLOCK_LIFE, a guess reserves as many numbers
    as the container took there in the last RATE_WINDOW seconds, so a quiet agency still gets blocks of one while a
    busy one makes one write per block. Every reservation is a conditional write (`value = n - 1`) or an atomic ADD,
    so the cache is only a hint: a stale entry costs a lost guess, never a duplicate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sequences: dict[str, _Sequence] = {}
        self._lock = threading.Lock()

    def claim(self, key: str) -> Claim:
        with self._lock:
            sequence = self._sequences.setdefault(key, _Sequence())
            now = self._clock()
            if sequence.held and now - sequence.reserved_at > BLOCK_LIFE:
                sequence.held.clear()  # too old to use without reading out of time order: gaps
            if sequence.held:
                return Claim(key, sequence.held.popleft(), None)
            number = sequence.last + 1
            return Claim(key, number, number + self._block_size(sequence, now) - 1)

    def committed(self, claim: Claim) -> None:
        """The claim's transaction happened: its number is used, and a guess's block is this container's."""
        with self._lock:
            sequence = self._sequences.setdefault(claim.key, _Sequence())
            now = self._clock()
            sequence.taken.append(now)
            if claim.reserve_to is not None:
                self._hold(sequence, claim.number + 1, claim.reserve_to, now)

    def took(self, key: str, first: int, last: int) -> Claim:
        """Numbers `first`..`last` reserved by an atomic ADD: the first for this submission, the rest held."""
        with self._lock:
            sequence = self._sequences.setdefault(key, _Sequence())
            self._hold(sequence, first + 1, last, self._clock())
            return Claim(key, first, None)

    def give_back(self, claim: Claim) -> None:
        """The transaction was cancelled, so a number it owned was not used: the next submission here takes it."""
        if claim.reserve_to is None:
            with self._lock:
                sequence = self._sequences.setdefault(claim.key, _Sequence())
                if not sequence.held:  # (an ADD's single number was held by nothing): its time starts now
                    sequence.reserved_at = self._clock()
                sequence.held.appendleft(claim.number)

    def lost(self, key: str, value: int) -> None:
        """A guess lost: the sequence holds `value`, taken by another container (or thread)."""
        with self._lock:
            sequence = self._sequences.setdefault(key, _Sequence())
            sequence.last = max(sequence.last, value)  # values only grow; a late, older answer must not lower it
            sequence.lost_at = self._clock()

    def block_size(self, key: str) -> int:
        """The size the next reservation at `key` would have."""
        with self._lock:
            return self._block_size(self._sequences.setdefault(key, _Sequence()), self._clock())

    @staticmethod
    def _block_size(sequence: _Sequence, now: float) -> int:
        while sequence.taken and now - sequence.taken[0] > RATE_WINDOW:
            sequence.taken.popleft()
        if now - sequence.lost_at > BLOCK_LIFE:
            return 1  # alone at the agency: guess one number at a time
        return max(1, min(MAX_BLOCK, len(sequence.taken)))

    @staticmethod
    def _hold(sequence: _Sequence, first: int, last: int, now: float) -> None:
        sequence.last = max(sequence.last, last)
        if first <= last:
            sequence.held = deque(sorted({*sequence.held, *range(first, last + 1)}))
            sequence.reserved_at = now
