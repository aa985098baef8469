"""A post's metrics and the account's followers, through X API v2 (docs/platforms.md §16.5).

A post is read with `GET /2/tweets?ids=…` (X's lookup, the brief's "GET /2/tweets"):
`public_metrics` (impressions, likes, replies, reposts, quotes, bookmarks) and, for the
author's own post of the last 30 days, `non_public_metrics` (impressions, link clicks); a
video's or GIF's views come with the media (`expansions=attachments.media_keys`). A post
without video has no views: left out, not zero. Link clicks past 30 days X no longer gives.

The account: X gives no impressions or reach over time (only sums of posts), so followers is
all, read now from the user lookup `GET /2/users?ids=…&user.fields=public_metrics` and stored
as the last day asked (providers/metrics/counts.py). (docs/platforms.md §16.5 names
`GET /2/users/me`; the lookup by id answers the same `public_metrics`, and the sandbox's
users/me is the login's.)
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.errors import ContentError
from providers.kit.api import PlatformAPI
from providers.metrics.base import (
    AccountInsights,
    DayInsight,
    MetricsBudget,
    MetricsReader,
    PostMetrics,
    only,
)
from providers.metrics.counts import current_day, total
from providers.x_errors import ERRORS

TWEET_PARAMS = {
    "tweet.fields": "public_metrics,non_public_metrics",
    "expansions": "attachments.media_keys",
    "media.fields": "public_metrics,type",
}
VIEWED = ("video", "animated_gif")  # the media whose public_metrics carry view_count


class XMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.X
    post_metrics: ClassVar[frozenset[str]] = frozenset(
        {"impressions", "likes", "comments", "shares", "saves", "clicks", "video_views"}
    )
    account_metrics: ClassVar[frozenset[str]] = frozenset({"followers"})
    # GET /2/tweets allows 5,000 calls per 15 minutes per user (users lookup: 900), and every
    # read also counts against the plan's monthly reads: crier spends 1% of the first.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=50, window=timedelta(minutes=15))

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        answer = await self._api.call(
            "GET", "/2/tweets", account, params={"ids": external_id, **TWEET_PARAMS}
        )
        tweet = _found(answer.get("data"), external_id, answer)
        public = tweet.get("public_metrics") or {}
        private = tweet.get("non_public_metrics") or {}
        keys = set((tweet.get("attachments") or {}).get("media_keys") or [])
        views = [
            (m.get("public_metrics") or {}).get("view_count")
            for m in (answer.get("includes") or {}).get("media") or []
            if m.get("media_key") in keys and m.get("type") in VIEWED
        ]
        values: dict[str, int | None] = {
            "impressions": private.get("impression_count", public.get("impression_count")),
            "likes": public.get("like_count"),
            "comments": public.get("reply_count"),
            "shares": total(public.get("retweet_count"), public.get("quote_count")),
            "saves": public.get("bookmark_count"),
            "clicks": private.get("url_link_clicks"),
            "video_views": total(*views) if views else None,
        }
        return PostMetrics(values=only(values, self.post_metrics))

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        day = current_day(until)
        if day is None:
            return AccountInsights(days=[], calls=0)
        answer = await self._api.call(
            "GET",
            "/2/users",
            account,
            params={"ids": account.external_id, "user.fields": "public_metrics"},
        )
        user = _found(answer.get("data"), account.external_id, answer)
        counts = user.get("public_metrics") or {}
        values = only({"followers": counts.get("followers_count")}, self.account_metrics)
        return AccountInsights(days=[DayInsight(day, values)])


def _found(data: Any, wanted: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The object with id `wanted` in a lookup's `data`; a lookup answers a missing one (a
    deleted post, a suspended user) with 200 and an entry in `errors`, which is a refusal."""
    for item in data or []:
        if str(item.get("id")) == wanted:
            return dict(item)
    problems = [e for e in answer.get("errors") or [] if str(e.get("resource_id")) == wanted]
    detail = problems[0].get("detail") if problems else None
    raise ContentError(
        str(detail or f"X did not answer for {wanted}"),
        platform="x",
        code="resource-not-found",
        http_status=200,
    )
