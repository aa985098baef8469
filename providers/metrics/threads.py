"""A Threads post's insights and its user's, through graph.threads.net (docs/platforms.md
§16.3), with the publishing provider's version path, Bearer token and error table.

A post's insights are lifetime counts, one call: `views` (the only impression count Threads
has; crier stores it as impressions, not also as video views), likes, `replies` (crier's
comments) and the ways it was passed on, `reposts`, `quotes` and `shares`, summed as crier's
shares. Threads gives no reach, saves or per-post clicks.

A user's day: `views` of the user insights is a daily series of profile views (one call for
the whole range, `since`/`until` in unix seconds); likes, replies, reposts and quotes are
totals over the range asked, so each day's engagements is its own call; `followers_count` is
the total now whatever the range, stored on the last day read while that is yesterday or
today (providers/metrics/counts.py). Threads gives no account reach or impressions, and its
`since`/`until` do not reach before 2024-04-13.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.kit.api import PlatformAPI
from providers.metrics.base import (
    AccountInsights,
    DayInsight,
    MetricsBudget,
    MetricsReader,
    PostMetrics,
    only,
)
from providers.metrics.counts import current_day
from providers.metrics.facebook import _day_of
from providers.threads import API_VERSION, ERRORS

# Threads' metric → crier's name; several may add up to one.
POST_INSIGHTS = {
    "views": "impressions",
    "likes": "likes",
    "replies": "comments",
    "reposts": "shares",
    "quotes": "shares",
    "shares": "shares",
}
ENGAGEMENTS = ("likes", "replies", "reposts", "quotes")
FIRST_DAY = date(2024, 4, 13)  # `since` and `until` do not work before it


class ThreadsMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.THREADS
    post_metrics: ClassVar[frozenset[str]] = frozenset(POST_INSIGHTS.values())
    account_metrics: ClassVar[frozenset[str]] = frozenset(
        {"followers", "profile_views", "engagements"}
    )
    # Threads allows 4,800 x impressions calls per 24 h (docs/platforms.md §3), so a small
    # account has little; crier takes 50 an hour, Graph's share for Facebook, which a user
    # with a few hundred impressions a day already covers.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=50)

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, f"{base_url.rstrip('/')}/{API_VERSION}", ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        answer = await self._api.call(
            "GET",
            f"/{external_id}/insights",
            account,
            params={"metric": ",".join(dict.fromkeys(POST_INSIGHTS))},
        )
        values: dict[str, int | None] = {}
        for row in answer.get("data", []):
            name, value = POST_INSIGHTS.get(row.get("name", "")), _value(row)
            if name is not None and value is not None:
                values[name] = (values.get(name) or 0) + value
        return PostMetrics(values=only(values, self.post_metrics), calls=1)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        since = max(since, FIRST_DAY)
        if until < since:
            return AccountInsights(days=[], calls=0)
        path = f"/{account.external_id}/threads_insights"
        days: dict[date, dict[str, int | None]] = {
            since + timedelta(days=n): {} for n in range((until - since).days + 1)
        }
        first = await self._api.call(
            "GET",
            path,
            account,
            params={"metric": "views,followers_count", **_window(since, until)},
        )
        for row in first.get("data", []):
            if row.get("name") == "followers_count" and (now := current_day(until)) is not None:
                days[now]["followers"] = _value(row)
            for point in row.get("values", []) if row.get("name") == "views" else []:
                day = _day_of(point.get("end_time"))
                if day in days:
                    days[day]["profile_views"] = point.get("value")
        for day, values in days.items():
            totals = await self._api.call(
                "GET", path, account, params={"metric": ",".join(ENGAGEMENTS), **_window(day, day)}
            )
            counted = [_value(row) for row in totals.get("data", [])]
            if counted and all(v is not None for v in counted):
                values["engagements"] = sum(v for v in counted if v is not None)
        read = [DayInsight(day, only(v, self.account_metrics)) for day, v in days.items()]
        return AccountInsights(days=[d for d in read if d.values], calls=1 + len(days))


def _window(since: date, until: date) -> dict[str, int]:
    """Unix seconds from the start of `since` to the end of `until` (UTC)."""
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
    return {"since": int(start.timestamp()), "until": int(end.timestamp())}


def _value(row: dict[str, Any]) -> int | None:
    """A total as `total_value.value`, or the last of `values` (Threads answers both ways)."""
    total = (row.get("total_value") or {}).get("value")
    values = row.get("values") or []
    value = total if total is not None else (values[-1].get("value") if values else None)
    return value if isinstance(value, int) else None
