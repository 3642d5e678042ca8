"""What a container knows of each agency's day sequence: the last number it saw, to guess the next one."""

from __future__ import annotations

from datetime import date

# A guess that loses this many times in one command is contention (many containers on one agency): the command
# then takes its number with an atomic ADD outside its transaction (unique always; a gap if the transaction fails).
GUESSES = 3


def sequence_key(agency_code: str, day: date) -> str:
    return f"SEQ#{agency_code}#{day:%y%m%d}"


class SequenceCache:
    """The last number known per sequence key; one per container, shared by its units of work.

    It is only a hint: every number is still taken by a conditional write (`value = n - 1`), so a stale or missing
    entry costs a failed guess, never a duplicate. Only values read from or written to the table are learnt."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def guess(self, key: str) -> int:
        return self._last.get(key, 0) + 1

    def learn(self, key: str, value: int) -> None:
        if value > self._last.get(key, 0):  # values only grow; a late, older answer must not take the hint back
            self._last[key] = value
