"""A video's counts and a channel's days, through YouTube's Data API v3 and its Analytics API
v2 (docs/platforms.md §16.10).

What is read, with quota in mind (§10, §16.10):
- A video: `videos.list?part=statistics` (1 unit of the Data API's daily 10,000, which every
  channel of crier's project and its publishing share). Its counts are current, where the
  Analytics API's lag by days (§16.10): a +1 h reading there would be empty. It gives views,
  likes and comments; YouTube counts views, not impressions, so views are crier's
  "impressions" (as §16.10 reads them) and its "video_views" alike. Shares it does not give.
- A channel's days: one Analytics `reports` query, `dimensions=day` (its own quota, not the
  Data API's units): views as impressions, and likes, comments and shares as engagements.
  Analytics days are YouTube's (Pacific) days (U), stored as the days they name; a day it
  does not answer yet is left out, and read again on a later run.
- Followers: Analytics gives only subscribers gained and lost, so the channel's
  `subscriberCount` (`channels.list?part=statistics&mine=true`, 1 unit, rounded by YouTube)
  is read now and stands for the last day asked (providers/metrics/counts.py).
Not offered: reach, clicks, saves (§16.10), and shares per video (Analytics only, days late).

The Analytics API needs the `yt-analytics.readonly` scope and lives on its own host: with the
Data API at Google's (settings.youtube_api_url's default), Analytics is at ANALYTICS; any
other root (the sandbox) serves both.
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
from providers.youtube_errors import ERRORS

DATA_API = "https://www.googleapis.com"
ANALYTICS = "https://youtubeanalytics.googleapis.com"
# Analytics metric → crier's name; likes, comments and shares add up to engagements.
DAY_METRICS = ("views", "likes", "comments", "shares")


class YouTubeMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.YOUTUBE
    post_metrics: ClassVar[frozenset[str]] = frozenset(
        {"impressions", "video_views", "likes", "comments"}
    )
    account_metrics: ClassVar[frozenset[str]] = frozenset(
        {"impressions", "engagements", "followers"}
    )
    # The Data API's 10,000 units a day are the project's, for every channel and for publishing
    # (a reconciling search costs 100): 50 calls a day per channel, at most 1 unit each.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=50, window=timedelta(days=1))

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        root = base_url.rstrip("/")
        self._api = PlatformAPI(http, root, ERRORS)
        self._reports = f"{ANALYTICS if root == DATA_API else root}/v2/reports"

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        answer = await self._api.call(
            "GET", "/youtube/v3/videos", account, params={"part": "statistics", "id": external_id}
        )
        items = answer.get("items") or []
        if not items:
            # Deleted, or made private to others: no counts, rather than zeros.
            raise ContentError(f"video {external_id} is not listed", platform="youtube")
        stats = items[0].get("statistics") or {}
        views = _count(stats.get("viewCount"))
        values = {
            "impressions": views,
            "video_views": views,
            "likes": _count(stats.get("likeCount")),
            "comments": _count(stats.get("commentCount")),
        }
        return PostMetrics(values=only(values, self.post_metrics), calls=1)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        report = await self._api.call(
            "GET",
            self._reports,
            account,
            params={
                "ids": "channel==MINE",
                "startDate": since.isoformat(),
                "endDate": until.isoformat(),  # inclusive
                "metrics": ",".join(DAY_METRICS),
                "dimensions": "day",
                "sort": "day",
            },
        )
        days: dict[date, dict[str, int | None]] = {}
        names = [str(h.get("name")) for h in report.get("columnHeaders") or []]
        for row in report.get("rows") or []:
            cells = dict(zip(names, row, strict=False))
            day = _date(cells.get("day"))
            if day is None or not since <= day <= until:
                continue
            days[day] = {
                "impressions": _count(cells.get("views")),
                "engagements": total(
                    *(_count(cells.get(n)) for n in ("likes", "comments", "shares"))
                ),
            }
        calls = 1
        if (today := current_day(until)) is not None:
            channels = await self._api.call(
                "GET",
                "/youtube/v3/channels",
                account,
                params={"part": "statistics", "mine": "true"},
            )
            calls += 1
            stats = ((channels.get("items") or [{}])[0]).get("statistics") or {}
            if not stats.get("hiddenSubscriberCount"):
                days.setdefault(today, {})["followers"] = _count(stats.get("subscriberCount"))
        return AccountInsights(
            days=[DayInsight(d, only(v, self.account_metrics)) for d, v in sorted(days.items())],
            calls=calls,
        )


def _count(value: Any) -> int | None:
    """YouTube's counts are strings in the Data API and numbers in Analytics."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
