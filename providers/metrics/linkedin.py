"""A LinkedIn post's statistics and an organization page's, through the versioned REST API
(docs/platforms.md §16.4), with the publishing provider's headers, token and error table.

Organization pages (rw_organization_admin, ADMINISTRATOR role):
- a post: `organizationalEntityShareStatistics` for that one share or ugcPost, lifetime, one
  call: impressions, unique impressions (reach), clicks, likes, comments, shares. A post with
  no activity is left out of the answer, which LinkedIn means as zeros.
- a day: the page's share statistics by DAY (impressions, reach, and clicks + likes + comments
  + shares as engagements), its page views (`organizationPageStatistics`, profile views) and
  its follower total now (`networkSizes`, stored on the last day read while that is yesterday
  or today, providers/metrics/counts.py): three calls. Organic activity only; LinkedIn keeps a
  rolling 12 months.

Members (personal profiles): a post's `memberCreatorPostAnalytics`, one call per metric
(impressions, members reached, reactions, comments, reshares), which needs the
r_member_postAnalytics scope. LinkedIn gives no member clicks, and a member's account insights
rest on third-party readings only (§16.4, U), so for a member `account` offers nothing and
calls nothing. Saves, sends and video views are not offered for either.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from core.status import Platform
from providers.base import Credentials
from providers.kit.api import PlatformAPI
from providers.linkedin import rest_auth
from providers.linkedin_errors import ERRORS
from providers.metrics.base import (
    AccountInsights,
    DayInsight,
    MetricsBudget,
    MetricsReader,
    PostMetrics,
    only,
)
from providers.metrics.counts import current_day

# LinkedIn's share statistic → crier's name.
SHARE_STATISTICS = {
    "impressionCount": "impressions",
    "uniqueImpressionsCount": "reach",
    "clickCount": "clicks",
    "likeCount": "likes",
    "commentCount": "comments",
    "shareCount": "shares",
}
ENGAGED = ("clickCount", "likeCount", "commentCount", "shareCount")
# A member post's queryType → crier's name.
MEMBER_QUERIES = {
    "IMPRESSION": "impressions",
    "MEMBERS_REACHED": "reach",
    "REACTION": "likes",
    "COMMENT": "comments",
    "RESHARE": "shares",
}


class LinkedInMetrics(MetricsReader):
    platform: ClassVar[Platform] = Platform.LINKEDIN
    post_metrics: ClassVar[frozenset[str]] = frozenset(SHARE_STATISTICS.values())
    account_metrics: ClassVar[frozenset[str]] = frozenset(
        {"followers", "impressions", "reach", "engagements", "profile_views"}
    )
    # LinkedIn's per-member daily limits are shown only in the developer portal (§4, U): crier
    # keeps to 200 metrics calls a day per account (40 member post readings, or 200 a page's).
    budget: ClassVar[MetricsBudget] = MetricsBudget(calls=200, window=timedelta(days=1))

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._api = PlatformAPI(http, base_url.rstrip("/") + "/rest", ERRORS, auth=rest_auth)

    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        if _is_member(account):
            return await self._member_post(account, external_id)
        kind = "ugcPosts" if external_id.startswith("urn:li:ugcPost:") else "shares"
        answer = await self._api.call(
            "GET",
            "/organizationalEntityShareStatistics?q=organizationalEntity"
            f"&organizationalEntity={_urn(account.external_id)}"
            f"&{kind}=List({_urn(external_id)})",
            account,
        )
        found = next(
            (
                element.get("totalShareStatistics") or {}
                for element in answer.get("elements", [])
                if external_id in (element.get("share"), element.get("ugcPost"))
            ),
            {},
        )
        values = {name: found.get(field, 0) for field, name in SHARE_STATISTICS.items()}
        return PostMetrics(values=only(values, self.post_metrics), calls=1)

    async def _member_post(self, account: Credentials, external_id: str) -> PostMetrics:
        kind = "ugc" if external_id.startswith("urn:li:ugcPost:") else "share"
        values: dict[str, int | None] = {}
        for query, name in MEMBER_QUERIES.items():
            answer = await self._api.call(
                "GET",
                f"/memberCreatorPostAnalytics?q=entity&entity=({kind}:{_urn(external_id)})"
                f"&queryType={query}&aggregation=TOTAL",
                account,
            )
            elements = answer.get("elements") or [{}]
            values[name] = elements[0].get("count", 0)  # no element: no activity (U)
        return PostMetrics(values=only(values, self.post_metrics), calls=len(MEMBER_QUERIES))

    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        if _is_member(account):
            return AccountInsights(days=[], calls=0)
        org = _urn(account.external_id)
        intervals = _intervals(since, until)
        days: dict[date, dict[str, int | None]] = {
            since + timedelta(days=n): {} for n in range((until - since).days + 1)
        }
        shares = await self._api.call(
            "GET",
            "/organizationalEntityShareStatistics?q=organizationalEntity"
            f"&organizationalEntity={org}&timeIntervals={intervals}",
            account,
        )
        for element, values in _by_day(shares, days):
            stats = element.get("totalShareStatistics") or {}
            values["impressions"] = stats.get("impressionCount")
            values["reach"] = stats.get("uniqueImpressionsCount")
            values["engagements"] = sum(int(stats.get(field) or 0) for field in ENGAGED)
        pages = await self._api.call(
            "GET",
            f"/organizationPageStatistics?q=organization&organization={org}"
            f"&timeIntervals={intervals}",
            account,
        )
        for element, values in _by_day(pages, days):
            views = ((element.get("totalPageStatistics") or {}).get("views") or {}).get(
                "allPageViews"
            ) or {}
            values["profile_views"] = views.get("pageViews")
        calls = 2
        if (now := current_day(until)) is not None:
            network = await self._api.call(
                "GET", f"/networkSizes/{org}?edgeType=COMPANY_FOLLOWED_BY_MEMBER", account
            )
            days[now]["followers"] = network.get("firstDegreeSize")
            calls += 1
        read = [DayInsight(day, only(v, self.account_metrics)) for day, v in days.items()]
        return AccountInsights(days=[d for d in read if d.values], calls=calls)


def _is_member(account: Credentials) -> bool:
    return account.external_id.startswith("urn:li:person:")


def _urn(urn: str) -> str:
    """A URN inside a Rest.li query: encoded, while the query's own ( , : ) stay as they are."""
    return quote(urn, safe="")


def _intervals(since: date, until: date) -> str:
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
    ms = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    return f"(timeRange:(start:{ms[0]},end:{ms[1]}),timeGranularityType:DAY)"


def _by_day(
    answer: dict[str, Any], days: dict[date, dict[str, int | None]]
) -> list[tuple[dict[str, Any], dict[str, int | None]]]:
    """Each element of a DAY answer with the values of the day its time range starts (UTC)."""
    found = []
    for element in answer.get("elements", []):
        start = (element.get("timeRange") or {}).get("start")
        if isinstance(start, int):
            day = datetime.fromtimestamp(start / 1000, UTC).date()
            if day in days:
                found.append((element, days[day]))
    return found
