"""LinkedIn's statistics for the sandbox's organization pages and members' posts
(docs/platforms.md §16.4), with numbers from sandbox/metrics_numbers.py.

- `organizationalEntityShareStatistics`: lifetime totals of named shares or ugcPosts (those of
  the organization with activity; others are left out), or the page's totals by DAY within
  `timeIntervals` (time-bound statistics of named shares are refused, as LinkedIn does).
- `organizationPageStatistics` by DAY: page views.
- `networkSizes/{organization}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`: followers now.
- `memberCreatorPostAnalytics?q=entity`: one metric of a member's own post, TOTAL.

Each checks the version headers and the Bearer token as the Posts API does; an organization's
statistics need the page's ADMINISTRATOR (or the page's own token), a member's the author.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import linkedin
from sandbox.metrics_numbers import day_numbers, post_numbers
from sandbox.state import SandboxPost

router = APIRouter(prefix="/linkedin", tags=["linkedin"])

ORGANIZATION = re.compile(r"urn:li:organization:[\w-]+")
INTERVALS = re.compile(r"\(timeRange:\(start:(\d+),end:(\d+)\),timeGranularityType:(DAY|MONTH)\)")
ENTITY = re.compile(r"\((share|ugc):(urn:li:(?:share|ugcPost):[\w-]+)\)")
MEMBER_QUERIES = {
    "IMPRESSION": "impressions",
    "MEMBERS_REACHED": "reach",
    "REACTION": "likes",
    "COMMENT": "comments",
    "RESHARE": "shares",
}
DAY_MS = 86_400_000


def _admin(request: Request, organization: str, action: str) -> JSONResponse | None:
    claims = linkedin.bearer_claims(request)
    if isinstance(claims, JSONResponse):
        return claims
    roles = linkedin.ROLES.get(claims.subject, ())
    if claims.subject == organization or (organization, "ADMINISTRATOR") in roles:
        return None
    return linkedin.li_error(
        403, f"Not enough permissions to access: {action}", code="ACCESS_DENIED"
    )


def _posts(request: Request, author: str) -> dict[str, SandboxPost]:
    state = request.app.state.sandbox
    return {p.id: p for p in state.posts_for("linkedin", author) if p.kind == "post"}


def _days(value: str) -> list[int] | JSONResponse:
    """The start (ms) of each DAY in `timeIntervals`, within LinkedIn's rolling 12 months."""
    match = INTERVALS.fullmatch(value)
    if match is None:
        return linkedin.li_error(400, f"timeIntervals :: cannot parse {value}", code="BAD_REQUEST")
    start, end, granularity = int(match[1]), int(match[2]), match[3]
    if granularity != "DAY":
        return linkedin.li_error(400, "timeIntervals :: the sandbox answers DAY only")
    if start >= end or start < (time.time() - 366 * 86400) * 1000:
        return linkedin.li_error(
            400, "timeIntervals :: start must be before end, within the past 12 months"
        )
    return list(range(start - start % DAY_MS, end, DAY_MS))


def _day_of(start_ms: int) -> date:
    return datetime.fromtimestamp(start_ms / 1000, UTC).date()


def _statistics(counts: dict[str, int]) -> dict[str, Any]:
    engaged = counts["clicks"] + counts["likes"] + counts["comments"] + counts["shares"]
    return {
        "impressionCount": counts["impressions"],
        "uniqueImpressionsCount": counts["reach"],
        "clickCount": counts["clicks"],
        "likeCount": counts["likes"],
        "commentCount": counts["comments"],
        "shareCount": counts["shares"],
        "engagement": engaged / counts["impressions"] if counts["impressions"] else 0.0,
    }


def _day_counts(organization: str, day: date) -> dict[str, int]:
    numbers = day_numbers(organization, day)
    engaged = numbers["engagements"]
    clicks, likes, comments = int(engaged * 0.4), int(engaged * 0.45), int(engaged * 0.1)
    return {
        "impressions": numbers["impressions"],
        "reach": numbers["reach"],
        "clicks": clicks,
        "likes": likes,
        "comments": comments,
        "shares": engaged - clicks - likes - comments,
    }


def _listed(value: str | None) -> list[str]:
    if not value:
        return []
    return [urn for urn in value.removeprefix("List(").removesuffix(")").split(",") if urn]


@router.get("/rest/organizationalEntityShareStatistics")
async def share_statistics(request: Request) -> JSONResponse:
    if (refused := linkedin._versioned(request)) is not None:
        return refused
    params = request.query_params
    organization = params.get("organizationalEntity", "")
    if params.get("q") != "organizationalEntity" or not ORGANIZATION.fullmatch(organization):
        return linkedin.li_error(400, "organizationalEntity :: an organization URN is required")
    action = "organizationalEntityShareStatistics.FINDER-organizationalEntity"
    if (refused := _admin(request, organization, action)) is not None:
        return refused
    named = _listed(params.get("shares")) + _listed(params.get("ugcPosts"))
    intervals = params.get("timeIntervals")
    if named and intervals:
        return linkedin.li_error(400, "time-bound statistics of specific shares are not supported")
    elements: list[dict[str, Any]] = []
    if intervals:
        days = _days(intervals)
        if isinstance(days, JSONResponse):
            return days
        for start in days:
            counts = _day_counts(organization, _day_of(start))
            elements.append(
                {
                    "totalShareStatistics": _statistics(counts),
                    "timeRange": {"start": start, "end": start + DAY_MS},
                    "organizationalEntity": organization,
                }
            )
    else:
        posts = _posts(request, organization)
        for urn in named or list(posts):
            post = posts.get(urn)
            if post is None:
                continue  # not the page's: left out
            counts = post_numbers(urn, time.time() - post.received_at)
            if counts["impressions"] == 0:
                continue  # no activity: left out
            kind = "ugcPost" if urn.startswith("urn:li:ugcPost:") else "share"
            elements.append(
                {
                    "totalShareStatistics": _statistics(counts),
                    "organizationalEntity": organization,
                    kind: urn,
                }
            )
    return JSONResponse({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})


@router.get("/rest/organizationPageStatistics")
async def page_statistics(request: Request) -> JSONResponse:
    if (refused := linkedin._versioned(request)) is not None:
        return refused
    params = request.query_params
    organization = params.get("organization", "")
    if params.get("q") != "organization" or not ORGANIZATION.fullmatch(organization):
        return linkedin.li_error(400, "organization :: an organization URN is required")
    action = "organizationPageStatistics.FINDER-organization"
    if (refused := _admin(request, organization, action)) is not None:
        return refused
    days = _days(params.get("timeIntervals", ""))
    if isinstance(days, JSONResponse):
        return days
    elements = [
        {
            "totalPageStatistics": {
                "views": {
                    "allPageViews": {
                        "pageViews": day_numbers(organization, _day_of(start))["profile_views"]
                    }
                }
            },
            "timeRange": {"start": start, "end": start + DAY_MS},
            "organization": organization,
        }
        for start in days
    ]
    return JSONResponse({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})


@router.get("/rest/networkSizes/{urn}")
async def network_size(urn: str, request: Request, edgeType: str = "") -> JSONResponse:
    if (refused := linkedin._versioned(request)) is not None:
        return refused
    if edgeType != "COMPANY_FOLLOWED_BY_MEMBER" or not ORGANIZATION.fullmatch(urn):
        return linkedin.li_error(400, "edgeType :: COMPANY_FOLLOWED_BY_MEMBER of an organization")
    if (refused := _admin(request, urn, "networkSizes.GET")) is not None:
        return refused
    return JSONResponse({"firstDegreeSize": day_numbers(urn, date.today())["followers"]})


@router.get("/rest/memberCreatorPostAnalytics")
async def member_post_analytics(request: Request) -> JSONResponse:
    if (refused := linkedin._versioned(request)) is not None:
        return refused
    params = request.query_params
    entity = ENTITY.fullmatch(params.get("entity", ""))
    query = params.get("queryType", "")
    if params.get("q") != "entity" or entity is None:
        return linkedin.li_error(400, "entity :: (share:urn) or (ugc:urn) is required")
    if query not in MEMBER_QUERIES or params.get("aggregation") != "TOTAL":
        return linkedin.li_error(
            400, f"queryType :: one of {', '.join(MEMBER_QUERIES)}, with aggregation TOTAL"
        )
    claims = linkedin.bearer_claims(request)
    if isinstance(claims, JSONResponse):
        return claims
    post = _posts(request, claims.subject).get(entity[2])
    if post is None:  # another's post, or none: LinkedIn shows a member only their own
        return linkedin.li_error(
            403,
            "Not enough permissions to access: memberCreatorPostAnalytics",
            code="ACCESS_DENIED",
        )
    count = post_numbers(post.id, time.time() - post.received_at)[MEMBER_QUERIES[query]]
    metric = "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1"
    element = {
        "count": count,
        "metricType": {metric: query},
        "targetEntity": {entity[1]: entity[2]},
    }
    return JSONResponse({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})
