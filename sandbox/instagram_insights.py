"""Instagram's insights edges for the sandbox's professional accounts and their media
(docs/platforms.md §16.2), with numbers from sandbox/metrics_numbers.py.

`GET /{ig-media-id}/insights?metric=…` answers lifetime values. `GET /{ig-user-id}/insights`
answers a daily series (`period=day`: reach, follower_count), each value stamped with the end
of its day as Graph does, or with `metric_type=total_value` one total over `since`..`until`
(exclusive). Both check the token as the account's other reads do, and refuse the metrics
Instagram has retired (impressions, profile_views, ...) as Graph does: the whole call fails.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import instagram
from sandbox.facebook import graph_error, read_params
from sandbox.facebook_insights import _date
from sandbox.metrics_numbers import day_numbers, post_numbers

router = APIRouter(prefix="/instagram", tags=["instagram"])

MEDIA_METRICS = {  # Instagram's name → the post_numbers one it reads
    "views": "impressions",
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "saved": "saves",
    "total_interactions": None,  # likes + comments + shares + saves
}
SERIES_METRICS = frozenset({"reach", "follower_count"})
TOTAL_METRICS = frozenset({"reach", "views", "accounts_engaged", "total_interactions"})
RETIRED = frozenset({"impressions", "plays", "video_views", "profile_views", "website_clicks"})


def _asked(params: dict[str, Any], known: frozenset[str]) -> list[str] | JSONResponse:
    asked = [m for m in str(params.get("metric", "")).split(",") if m]
    if retired := [m for m in asked if m in RETIRED]:
        return graph_error(
            100,
            f"(#100) Starting from version 22 and above, the {retired[0]} metric is no longer "
            "supported",
        )
    unknown = [m for m in asked if m not in known]
    if not asked or unknown:
        return graph_error(
            100, f"(#100) metric[0] must be one of the following values: {', '.join(known)}"
        )
    return asked


@router.get("/{version}/{object_id}/insights")
async def insights(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    media = instagram._media(request, object_id)
    if media is None:
        return _account(request, params, object_id)
    if (refused := instagram._authorize(request, params, media.account)) is not None:
        return refused
    asked = _asked(params, frozenset(MEDIA_METRICS))
    if isinstance(asked, JSONResponse):
        return asked
    counts = post_numbers(media.id, time.time() - media.received_at)
    counts["total_interactions"] = sum(counts[n] for n in ("likes", "comments", "shares", "saves"))
    return JSONResponse(
        {
            "data": [
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": counts[MEDIA_METRICS[name] or name]}],
                    "id": f"{media.id}/insights/{name}/lifetime",
                }
                for name in asked
            ]
        }
    )


def _account(request: Request, params: dict[str, Any], user: str) -> JSONResponse:
    if (refused := instagram._authorize(request, params, user)) is not None:
        return refused
    totals = params.get("metric_type") == "total_value"
    asked = _asked(params, TOTAL_METRICS if totals else SERIES_METRICS)
    if isinstance(asked, JSONResponse):
        return asked
    if params.get("period") != "day":
        return graph_error(100, "(#100) period must be one of the following values: day")
    since = _date(params.get("since")) or date.today() - timedelta(days=1)
    until = _date(params.get("until")) or date.today()
    days = [since + timedelta(days=n) for n in range(max((until - since).days, 0))][:30]
    if totals:
        return JSONResponse(
            {
                "data": [
                    {
                        "name": name,
                        "period": "day",
                        "total_value": {"value": sum(_day_value(user, d, name) for d in days)},
                        "id": f"{user}/insights/{name}/day",
                    }
                    for name in asked
                ]
            }
        )
    return JSONResponse(
        {
            "data": [
                {
                    "name": name,
                    "period": "day",
                    "values": [
                        {
                            "value": _day_value(user, day, name),
                            "end_time": f"{(day + timedelta(days=1)).isoformat()}T07:00:00+0000",
                        }
                        for day in days
                    ],
                    "id": f"{user}/insights/{name}/day",
                }
                for name in asked
            ]
        }
    )


def _day_value(user: str, day: date, name: str) -> int:
    numbers = day_numbers(user, day)
    if name == "follower_count":  # the day's new followers, not the total
        return max(
            numbers["followers"] - day_numbers(user, day - timedelta(days=1))["followers"], 0
        )
    if name == "accounts_engaged":
        return int(numbers["engagements"] * 0.7)
    return numbers[{"views": "impressions", "total_interactions": "engagements"}.get(name, name)]
