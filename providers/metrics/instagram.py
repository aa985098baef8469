"""An Instagram professional account's media and account insights, through the Graph API
(docs/platforms.md §16.2), with the publishing provider's host, token and error table.

A media's insights are lifetime counts, one call: `views` (Instagram's successor to
impressions, which v22 refuses), reach, likes, comments, shares and saves. Instagram gives no
per-post link clicks, and `views` is one count for every kind of media (the separate video
metrics are gone), so crier stores it as impressions and offers no `video_views`. A media seen
by too few people answers "(#10) Not enough viewers": that is no numbers yet, not a failure.

An account's day: `reach` is a daily series (one call for the whole range); `views` and
`total_interactions` are totals over the range asked (`metric_type=total_value`), so each day
is its own call; followers are the account's `followers_count` now (Instagram's
`follower_count` counts only a day's new followers), stored on the last day read while that
is yesterday or today (providers/metrics/counts.py). Profile views went in v21: not offered.
Instagram's numbers can lag up to 48 hours; a day read again later replaces its values
(activities/insights.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.errors import AuthError
from providers.graph import oauth
from providers.instagram import ERRORS
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
from providers.metrics.facebook import _day_of, _last

# Instagram's metric → crier's name.
MEDIA_INSIGHTS = {
    "views": "impressions",
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "saved": "saves",
}
DAILY_SERIES = {"reach": "reach"}
DAY_TOTALS = {"views": "impressions", "total_interactions": "engagements"}


class InstagramMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    post_metrics: ClassVar[frozenset[str]] = frozenset(MEDIA_INSIGHTS.values())
    account_metrics: ClassVar[frozenset[str]] = frozenset(
        {"followers", *DAILY_SERIES.values(), *DAY_TOTALS.values()}
    )
    # Instagram's own limit is business-use-case based and its per-account figure unconfirmed
    # (§16.2, U); crier takes Facebook's share of Graph's 200 calls an hour per token.
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=50)

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS, auth=oauth)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        try:
            answer = await self._api.call(
                "GET",
                f"/{external_id}/insights",
                account,
                params={"metric": ",".join(MEDIA_INSIGHTS)},
            )
        except AuthError as error:
            if error.code == "10" and "not enough viewers" in error.message.lower():
                return PostMetrics(values={}, calls=1)
            raise
        values = {
            MEDIA_INSIGHTS[row["name"]]: _last(row)
            for row in answer.get("data", [])
            if row.get("name") in MEDIA_INSIGHTS
        }
        return PostMetrics(values=only(values, self.post_metrics), calls=1)

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        path = f"/{account.external_id}/insights"
        days: dict[date, dict[str, int | None]] = {
            since + timedelta(days=n): {} for n in range((until - since).days + 1)
        }
        series = await self._api.call(
            "GET",
            path,
            account,
            params={"metric": ",".join(DAILY_SERIES), "period": "day", **_window(since, until)},
        )
        for row in series.get("data", []):
            if (name := DAILY_SERIES.get(row.get("name", ""))) is None:
                continue
            for point in row.get("values", []):
                if (day := _day_of(point.get("end_time"))) in days:
                    days[day][name] = point.get("value")
        for day, values in days.items():
            totals = await self._api.call(
                "GET",
                path,
                account,
                params={
                    "metric": ",".join(DAY_TOTALS),
                    "metric_type": "total_value",
                    "period": "day",
                    **_window(day, day),
                },
            )
            for row in totals.get("data", []):
                if (name := DAY_TOTALS.get(row.get("name", ""))) is not None:
                    values[name] = _total_value(row)
        calls = 1 + len(days)
        if (now := current_day(until)) is not None:
            user = await self._api.call(
                "GET", f"/{account.external_id}", account, params={"fields": "followers_count"}
            )
            days[now]["followers"] = user.get("followers_count")
            calls += 1
        read = [DayInsight(day, only(v, self.account_metrics)) for day, v in days.items()]
        return AccountInsights(days=[d for d in read if d.values], calls=calls)


def _window(since: date, until: date) -> dict[str, str]:
    # Graph's `until` is exclusive: the day after the last day asked for.
    return {"since": since.isoformat(), "until": (until + timedelta(days=1)).isoformat()}


def _total_value(row: dict[str, Any]) -> int | None:
    value = (row.get("total_value") or {}).get("value")
    return value if isinstance(value, int) else None
