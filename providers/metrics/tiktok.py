"""A video's counts and the account's followers, through TikTok's Display API
(docs/platforms.md §16.9).

A video is read with `POST /v2/video/query/?fields=id,view_count,like_count,comment_count,
share_count` and `{"filters": {"video_ids": [id]}}`: views (crier's impressions, and its video
views: on TikTok they are one number), likes, comments and shares. TikTok gives no reach,
clicks or saves outside its Research API, and no history.

A post crier knows only by its publish_id (reported before TikTok made it public) is first
looked up in its publish status (`publicaly_available_post_id`, §9); while it has no public id
there is nothing to read, which is a refusal, so the reading is tried again at the next run.

The account: `GET /v2/user/info/?fields=follower_count` gives followers now and no history, so
it is stored as the last day asked (providers/metrics/counts.py); TikTok gives no account
views or reach.
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
from providers.metrics.counts import current_day
from providers.tiktok import ERRORS
from providers.tiktok_envelope import unwrapped

VIDEO_FIELDS = "id,view_count,like_count,comment_count,share_count"
JSON = {"Content-Type": "application/json; charset=UTF-8"}


class TikTokMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.TIKTOK
    post_metrics: ClassVar[frozenset[str]] = frozenset(
        {"impressions", "video_views", "likes", "comments", "shares"}
    )
    account_metrics: ClassVar[frozenset[str]] = frozenset({"followers"})
    # 600 requests per minute per endpoint (§16.9), shared by the app's users: each account
    # may spend 30 a minute (5%).
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=30, window=timedelta(minutes=1))

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        calls = 1
        video_id = external_id
        if not external_id.isdigit():  # a publish_id: the video's own id is in its status
            status = await self._envelope(
                "POST", "/v2/post/publish/status/fetch/", account, json={"publish_id": external_id}
            )
            calls += 1
            public = status.get("publicaly_available_post_id") or []  # (sic) TikTok's spelling
            if not public:
                raise ContentError(
                    "the video has no public id yet", platform="tiktok", code="not_public"
                )
            video_id = str(public[0])
        answer = await self._envelope(
            "POST",
            "/v2/video/query/",
            account,
            params={"fields": VIDEO_FIELDS},
            json={"filters": {"video_ids": [video_id]}},
        )
        video = next((v for v in answer.get("videos") or [] if str(v.get("id")) == video_id), None)
        if video is None:
            # Only the user's own public videos are answered: deleted, or no longer public.
            raise ContentError(
                f"TikTok has no public video {video_id}", platform="tiktok", code="not_found"
            )
        values: dict[str, int | None] = {
            "impressions": video.get("view_count"),
            "video_views": video.get("view_count"),
            "likes": video.get("like_count"),
            "comments": video.get("comment_count"),
            "shares": video.get("share_count"),
        }
        return PostMetrics(values=only(values, self.post_metrics), calls=calls)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        day = current_day(until)
        if day is None:
            return AccountInsights(days=[], calls=0)  # no history to read
        answer = await self._envelope(
            "GET", "/v2/user/info/", account, params={"fields": "follower_count"}
        )
        user = answer.get("user") or {}
        values = only({"followers": user.get("follower_count")}, self.account_metrics)
        return AccountInsights(days=[DayInsight(day, values)])

    async def _envelope(
        self, method: str, path: str, account: Credentials, **kwargs: Any
    ) -> dict[str, Any]:
        """TikTok's `data`, or the error its envelope's `error.code` names."""
        headers = JSON if "json" in kwargs else None
        response = await self._api.send(method, path, account, headers=headers, **kwargs)
        return unwrapped(response, ERRORS)
