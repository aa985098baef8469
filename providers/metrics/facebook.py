"""A Page post's metrics and a Page's insights, through the Graph API (docs/platforms.md §16.1).
Seed 003 reads Page Insights with `metric`, `period`, `since`, `until`; its example metrics
(`page_impressions`, `page_engaged_users`) are gone from Graph, so crier asks for their
successors (views instead of impressions) and one invalid name would fail the whole call.

Graph's insights edges answer `{"data": [{"name", "period", "values": [{"value", "end_time"}]}]}`;
a day's value carries the end of that day (Pacific time at Facebook) as `end_time`, so the
value belongs to the day before `end_time`'s date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.facebook import ERRORS
from providers.graph import oauth
from providers.kit.api import PlatformAPI
from providers.metrics.base import (
    AccountInsights,
    DayInsight,
    MetricsBudget,
    MetricsReader,
    PostMetrics,
    only,
)

# Graph's metric → crier's name.
POST_INSIGHTS = {
    "post_media_view": "impressions",  # views: post_impressions went on 2025-11-15
    "post_total_media_view_unique": "reach",
    "post_clicks": "clicks",
}
PAGE_INSIGHTS = {
    "page_media_view": "impressions",  # views: page_impressions went on 2025-11-15
    "page_total_media_view_unique": "reach",
    "page_post_engagements": "engagements",
    "page_views_total": "profile_views",
    "page_follows": "followers",
}
# Reactions, comments and shares are fields of the post itself, with their totals.
POST_FIELDS = (
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
)


class FacebookMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.FACEBOOK
    post_metrics: ClassVar[frozenset[str]] = frozenset(
        {"impressions", "reach", "clicks", "likes", "comments", "shares"}
    )
    account_metrics: ClassVar[frozenset[str]] = frozenset(PAGE_INSIGHTS.values())
    # Graph allows 200 calls an hour per token (seed 000, OQ-SP-4); publishing keeps 150.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=50)

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS, auth=oauth)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        insights = await self._api.call(
            "GET",
            f"/{external_id}/insights",
            account,
            params={"metric": ",".join(POST_INSIGHTS), "period": "lifetime"},
        )
        counts = await self._api.call(
            "GET", f"/{external_id}", account, params={"fields": POST_FIELDS}
        )
        values: dict[str, int | None] = {
            POST_INSIGHTS[row["name"]]: _last(row)
            for row in insights.get("data", [])
            if row.get("name") in POST_INSIGHTS
        }
        values["likes"] = _total(counts.get("reactions"))
        values["comments"] = _total(counts.get("comments"))
        values["shares"] = (counts.get("shares") or {}).get("count", 0)
        return PostMetrics(values=only(values, self.post_metrics), calls=2)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        answer = await self._api.call(
            "GET",
            f"/{account.external_id}/insights",
            account,
            params={
                "metric": ",".join(PAGE_INSIGHTS),
                "period": "day",
                # Graph's `until` is exclusive: the day after the last day asked for.
                "since": since.isoformat(),
                "until": (until + timedelta(days=1)).isoformat(),
            },
        )
        days: dict[date, dict[str, int | None]] = {}
        for row in answer.get("data", []):
            name = PAGE_INSIGHTS.get(row.get("name", ""))
            if name is None:
                continue
            for point in row.get("values", []):
                day = _day_of(point.get("end_time"))
                if day is not None and since <= day <= until:
                    days.setdefault(day, {})[name] = point.get("value")
        return AccountInsights(
            days=[DayInsight(day, only(v, self.account_metrics)) for day, v in sorted(days.items())]
        )


def _last(row: dict[str, Any]) -> int | None:
    values = row.get("values") or []
    value = values[-1].get("value") if values else None
    return value if isinstance(value, int) else None


def _total(edge: Any) -> int:
    return int(((edge or {}).get("summary") or {}).get("total_count", 0))


def _day_of(end_time: Any) -> date | None:
    """The day a daily value counts: the one before its `end_time`."""
    if not isinstance(end_time, str):
        return None
    try:
        return (datetime.fromisoformat(end_time) - timedelta(days=1)).date()
    except ValueError:
        return None
