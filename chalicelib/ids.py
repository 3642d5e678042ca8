"""Identifiers: time-ordered, random-tailed, URL-safe (sortable like ULIDs, 32 hex characters)."""

from __future__ import annotations

import secrets
import time


def new_id() -> str:
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"
