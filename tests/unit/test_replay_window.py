"""Replaying the bus archive (docs/DEPLOY.md) counts nothing twice: every event the archive can still replay finds the
exactly-once marker its first counting wrote, because markers outlive the archive's retention."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.store.counters import MARKER_TTL
from chalicelib.store.notifications import RETENTION
from infra import cloudformation as cfn


def test_markers_and_notices_outlive_every_event_the_archive_keeps() -> None:
    archive = cfn.render("prod")["Resources"][cfn.ARCHIVE_ID]["Properties"]
    assert "EventPattern" not in archive  # it keeps every event of the bus
    kept = archive["RetentionDays"]
    assert kept > 0, "0 keeps events forever: older than the markers' TTL, a replayed event would count again"
    assert timedelta(days=kept) < MARKER_TTL
    assert timedelta(days=kept) < RETENTION  # a replay to the notifications rule would find its notices too
