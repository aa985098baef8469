"""Times as platforms write them: RFC 3339, sometimes without an offset (then UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(raw: object) -> datetime | None:
    """`2026-01-01T00:00:00Z`, `...+00:00` or an offset-less time read as UTC; None when not a
    time at all (a lookup then treats the item as unknown, never as a match)."""
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
