"""How long YouTube's rate-limit reasons ask us to wait (docs/platforms.md §10): the daily quota
until midnight Pacific, the channel's daily upload cap a day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
UPLOAD_CAP_WAIT = timedelta(hours=24)


def until_pacific_midnight(now: datetime | None = None) -> timedelta:
    """YouTube's daily quota resets at midnight Pacific time (determine_quota_cost)."""
    now = (now or datetime.now(QUOTA_TIMEZONE)).astimezone(QUOTA_TIMEZONE)
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=QUOTA_TIMEZONE)
    # In UTC: aware datetimes sharing a tzinfo subtract as wall clocks, wrong across DST.
    return midnight.astimezone(UTC) - now.astimezone(UTC)


def daily_quota(headers: Mapping[str, str]) -> timedelta:
    return until_pacific_midnight()


def upload_cap(headers: Mapping[str, str]) -> timedelta:
    return UPLOAD_CAP_WAIT  # the channel's daily upload cap
