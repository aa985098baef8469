"""Helpers for readers of plain counts (X, Bluesky, TikTok: docs/platforms.md §16.5, §16.7,
§16.9).

A count a platform gives only as it is now, with no history (those platforms' followers),
stands for the last day asked (`until`), and only while that day is yesterday or today (UTC):
the collector asks up to yesterday, so one reading a day is stored as that day and the series
is what crier samples itself. Stored as today instead, it would never fill the collector's
"yesterday is in" and be read again at every run. An older day cannot be read: the reader
returns nothing for it, without calling the platform.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any


def current_day(until: date, *, today: date | None = None) -> date | None:
    """The day a count read now stands for: `until`, if it is yesterday or today (UTC)."""
    today = today or datetime.now(UTC).date()
    return until if today - timedelta(days=1) <= until <= today else None


def total(*counts: Any) -> int | None:
    """The sum of the counts given (reposts and quotes, say); None when none was given, so
    an absent pair stays absent rather than zero."""
    present = [int(c) for c in counts if isinstance(c, int)]
    return sum(present) if present else None
