"""A pin's metrics and its user's days, through Pinterest API v5 (docs/platforms.md §16.8).

A pin: `GET /v5/pins/{id}/analytics` over the last 90 days Pinterest allows (89, as Postiz
asks, so a UTC edge never falls outside), with impressions, pin clicks, saves and video views
(MRC views: a video pin's; an image pin answers none, and none is stored). Its totals are
`lifetime_metrics`, or `summary_metrics` (the period asked, which holds every day of a pin
crier reads: the last reading is at +7 d) where the first is not given.

The account: `GET /v5/user_account/analytics` gives the user's days (impressions,
engagements); a day Pinterest has not finished (`data_status` other than READY: PROCESSING,
ESTIMATE, or a BEFORE_… day with no data) is left out and read again on a later run. Followers
are the user's `follower_count` now (`GET /v5/user_account`), standing for the last day asked
(providers/metrics/counts.py). crier's Pinterest account is a board, and Pinterest's
analytics are its user's: two boards of one user show the same days.
Not offered: likes, comments and shares of a pin (§16.8); reach (TOTAL_AUDIENCE, (U)).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
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
from providers.pinterest import ERRORS

# Pinterest's metric type → crier's name.
PIN_METRICS = {
    "IMPRESSION": "impressions",
    "PIN_CLICK": "clicks",
    "SAVE": "saves",
    "VIDEO_MRC_VIEW": "video_views",
}
USER_METRICS = {"IMPRESSION": "impressions", "ENGAGEMENT": "engagements"}
WINDOW = timedelta(days=89)  # start_date no more than 90 days back (§16.8)


class PinterestMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.PINTEREST
    post_metrics: ClassVar[frozenset[str]] = frozenset(PIN_METRICS.values())
    account_metrics: ClassVar[frozenset[str]] = frozenset({*USER_METRICS.values(), "followers"})
    # Standard access allows 100 requests a second per user (§8) beside per-minute limits
    # Pinterest does not publish: 100 an hour for metrics leaves those to publishing.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=100)

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url.rstrip("/") + "/v5", ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        today = datetime.now(UTC).date()
        answer = await self._api.call(
            "GET",
            f"/pins/{external_id}/analytics",
            account,
            params={
                "start_date": (today - WINDOW).isoformat(),
                "end_date": today.isoformat(),
                "metric_types": ",".join(PIN_METRICS),
                "app_types": "ALL",
                "split_field": "NO_SPLIT",
            },
        )
        every = answer.get("all") or {}
        totals = {**(every.get("summary_metrics") or {}), **(every.get("lifetime_metrics") or {})}
        values = {PIN_METRICS[k]: _count(v) for k, v in totals.items() if k in PIN_METRICS}
        return PostMetrics(values=only(values, self.post_metrics), calls=1)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        answer = await self._api.call(
            "GET",
            "/user_account/analytics",
            account,
            params={
                "start_date": since.isoformat(),
                "end_date": until.isoformat(),  # inclusive
                "metric_types": ",".join(USER_METRICS),
            },
        )
        days: dict[date, dict[str, int | None]] = {}
        for point in (answer.get("all") or {}).get("daily_metrics") or []:
            day = _date(point.get("date"))
            if day is None or not since <= day <= until or point.get("data_status") != "READY":
                continue
            metrics = point.get("metrics") or {}
            days[day] = {name: _count(metrics.get(key)) for key, name in USER_METRICS.items()}
        calls = 1
        if (today := current_day(until)) is not None:
            user = await self._api.call("GET", "/user_account", account)
            calls += 1
            days.setdefault(today, {})["followers"] = _count(user.get("follower_count"))
        return AccountInsights(
            days=[DayInsight(d, only(v, self.account_metrics)) for d, v in sorted(days.items())],
            calls=calls,
        )


def _count(value: Any) -> int | None:
    # Counts arrive as JSON numbers (rates as fractions, which crier does not read).
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
