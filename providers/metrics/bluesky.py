"""A post's counts and the account's followers, from Bluesky's AppView through the account's
PDS (docs/platforms.md §16.7). Bluesky has no analytics API: its counts are public.

A post is read with `app.bsky.feed.getPosts?uris=at://…`: likes, replies (comments), reposts
and quotes (shares), and bookmarks (saves) where the AppView gives `bookmarkCount`. Bluesky
gives no impressions, views, reach or clicks.

The account: `app.bsky.actor.getProfile?actor={did}` gives followers as they are now and no
history, and no impressions or reach at all. So `account()` stores the count read now as the
last day asked, once a day (providers/metrics/counts.py): crier's followers series for Bluesky
is one sample a day, taken when the collector runs after that day, not the day's own end.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.bluesky_errors import ERRORS
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


class BlueskyMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.BLUESKY
    post_metrics: ClassVar[frozenset[str]] = frozenset({"likes", "comments", "shares", "saves"})
    account_metrics: ClassVar[frozenset[str]] = frozenset({"followers"})
    # 3,000 requests per 5 minutes per IP (§7), shared by every account crier serves from the
    # same address: each account may spend 20 an hour (1,000 accounts stay under a third).
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=20, window=timedelta(hours=1))

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        answer = await self._api.call(
            "GET", "/xrpc/app.bsky.feed.getPosts", account, params={"uris": external_id}
        )
        view = next((p for p in answer.get("posts") or [] if p.get("uri") == external_id), None)
        if view is None:
            # The AppView leaves out a post it does not hold (deleted, or taken down).
            raise ContentError(
                f"Bluesky has no post {external_id}", platform="bluesky", code="NotFound"
            )
        values: dict[str, int | None] = {
            "likes": view.get("likeCount"),
            "comments": view.get("replyCount"),
            "shares": total(view.get("repostCount"), view.get("quoteCount")),
            "saves": view.get("bookmarkCount"),  # newer lexicons only: absent is not zero
        }
        return PostMetrics(values=only(values, self.post_metrics))

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        day = current_day(until)
        if day is None:
            return AccountInsights(days=[], calls=0)  # no history to read
        profile = await self._api.call(
            "GET",
            "/xrpc/app.bsky.actor.getProfile",
            account,
            params={"actor": account.external_id},
        )
        values = only({"followers": profile.get("followersCount")}, self.account_metrics)
        return AccountInsights(days=[DayInsight(day, values)])
