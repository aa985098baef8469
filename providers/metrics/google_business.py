"""A Business Profile location's days, through the Business Profile Performance API v1
(docs/platforms.md §16.6).

Local posts: no metrics. The v4 `localPosts:reportInsights` is (U) in §16.6 (metric names
from memory, whether Google still serves it; Postiz reads none), so this reader offers no post
metrics and answers an empty reading without calling Google (calls=0).

The location: `GET /v1/locations/{l}:fetchMultiDailyMetricsTimeSeries` with the location's
daily series, both dates inclusive, one call. Impressions are the four BUSINESS_IMPRESSIONS_*
series (desktop and mobile, Maps and Search; a user counts once a day on each) added up;
engagements are the actions taken on the profile (calls, website clicks, direction requests,
conversations, bookings) added up. A dated value without `value` is 0: proto3's JSON leaves
out a zero. Not offered: followers, reach, profile views apart from impressions (§16.6).

The Performance API lives on its own host: with v4 at Google's (the default
settings.google_business_api_url), it is PERFORMANCE; any other root (the sandbox) serves both.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.errors import ContentError
from providers.google_business import ERRORS, PLATFORM
from providers.kit.api import PlatformAPI
from providers.metrics.base import (
    AccountInsights,
    DayInsight,
    MetricsBudget,
    MetricsReader,
    PostMetrics,
    only,
)

V4_API = "https://mybusiness.googleapis.com"
PERFORMANCE = "https://businessprofileperformance.googleapis.com"
IMPRESSIONS = (
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
)
ACTIONS = (
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_DIRECTION_REQUESTS",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_BOOKINGS",
)


class GoogleBusinessMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.GOOGLE_BUSINESS
    post_metrics: ClassVar[frozenset[str]] = frozenset()
    account_metrics: ClassVar[frozenset[str]] = frozenset({"impressions", "engagements"})
    # 300 requests a minute are the project's, for every location (§6): a location's one daily
    # read needs one call; 10 an hour leave room for retries and nothing more.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=10)

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        root = base_url.rstrip("/")
        self._api = PlatformAPI(http, PERFORMANCE if root == V4_API else root, ERRORS)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        return PostMetrics(values={}, calls=0)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        # `accounts/{a}/locations/{l}` for v4; the Performance API names `locations/{l}`.
        _, found, location = account.external_id.partition("/locations/")
        if not found or not location:
            raise ContentError(f"{account.external_id} is not a location", platform=PLATFORM)
        params: list[tuple[str, str]] = [("dailyMetrics", m) for m in (*IMPRESSIONS, *ACTIONS)]
        for end, day in (("startDate", since), ("endDate", until)):
            for part in ("year", "month", "day"):
                params.append((f"dailyRange.{end}.{part}", str(getattr(day, part))))
        answer = await self._api.call(
            "GET",
            f"/v1/locations/{location}:fetchMultiDailyMetricsTimeSeries",
            account,
            params=params,
        )
        series: dict[str, dict[date, int]] = {}
        for multi in answer.get("multiDailyMetricTimeSeries") or []:
            for one in multi.get("dailyMetricTimeSeries") or []:
                dated = series.setdefault(str(one.get("dailyMetric")), {})
                for point in (one.get("timeSeries") or {}).get("datedValues") or []:
                    when = _day(point.get("date"))
                    if when is not None and since <= when <= until:
                        dated[when] = int(point.get("value") or 0)  # absent: proto3's zero
        found_days: list[DayInsight] = []
        for n in range((until - since).days + 1):
            day = since + timedelta(days=n)
            values: dict[str, int | None] = {
                "impressions": _sum(series, IMPRESSIONS, day),
                "engagements": _sum(series, ACTIONS, day),
            }
            if any(v is not None for v in values.values()):  # a day Google did not answer: left out
                found_days.append(DayInsight(day, only(values, self.account_metrics)))
        return AccountInsights(days=found_days)


def _sum(series: dict[str, dict[date, int]], names: tuple[str, ...], day: date) -> int | None:
    """The day's values of `names` added up; None when Google gave none of them that day."""
    present = [series[n][day] for n in names if day in series.get(n, {})]
    return sum(present) if present else None


def _day(value: Any) -> date | None:
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        return None
