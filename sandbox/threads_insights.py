"""Threads' insights for the sandbox's users and their posts (docs/platforms.md §16.3), with
numbers from sandbox/metrics_numbers.py.

`GET /{threads-media-id}/insights?metric=…` answers lifetime `values`; a post's shares split
into reposts, quotes and shares. `GET /{threads-user-id}/threads_insights?metric=…&since=
&until=` (unix seconds; Threads' default is yesterday to now) answers `views` (profile views)
as a daily series stamped with each day's end, and the others as one `total_value` over the
range; `followers_count` is the total now whatever the range. Both check the Bearer token as
the user's other reads do.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import threads
from sandbox.facebook import graph_error, read_params
from sandbox.metrics_numbers import day_numbers, post_numbers

router = APIRouter(prefix="/threads", tags=["threads"])

POST_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
USER_METRICS = ("views", "likes", "replies", "reposts", "quotes", "clicks", "followers_count")
FIRST = 1712991600  # 2024-04-13: since and until reach no further back


def _asked(params: dict[str, Any], known: tuple[str, ...]) -> list[str] | JSONResponse:
    asked = [m for m in str(params.get("metric", "")).split(",") if m]
    unknown = [m for m in asked if m not in known]
    if not asked or unknown:
        return graph_error(
            100,
            f"(#100) Param metric must be one of {{{', '.join(known)}}}",
            type_="THApiException",
        )
    return asked


def _split(total: int, shares: tuple[float, ...]) -> list[int]:
    """`total` in parts of the given shares, the last taking what rounding leaves."""
    parts = [int(total * share) for share in shares]
    return [*parts, total - sum(parts)]


def post_counts(post_id: str, age_seconds: float) -> dict[str, int]:
    counts = post_numbers(post_id, age_seconds)
    reposts, quotes, shares = _split(counts["shares"], (0.5, 0.25))
    return {
        "views": counts["impressions"],
        "likes": counts["likes"],
        "replies": counts["comments"],
        "reposts": reposts,
        "quotes": quotes,
        "shares": shares,
    }


def day_counts(user: str, day: date) -> dict[str, int]:
    numbers = day_numbers(user, day)
    likes, replies, reposts, quotes = _split(numbers["engagements"], (0.7, 0.15, 0.1))
    return {
        "views": numbers["profile_views"],
        "likes": likes,
        "replies": replies,
        "reposts": reposts,
        "quotes": quotes,
        "clicks": int(numbers["impressions"] * 0.01),
    }


@router.get("/{version}/{media_id}/insights")
async def post_insights(version: str, media_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    post = threads.CONTAINERS.machine(request).post(request, media_id)
    if post is None:
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{media_id}' does not exist.",
            subcode=33,
            type_="GraphMethodException",
        )
    if (refused := threads._authorize(request, params, post.account)) is not None:
        return refused
    asked = _asked(params, POST_METRICS)
    if isinstance(asked, JSONResponse):
        return asked
    counts = post_counts(post.id, time.time() - post.received_at)
    return JSONResponse(
        {
            "data": [
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": counts[name]}],
                    "id": f"{post.id}/insights/{name}/lifetime",
                }
                for name in asked
            ]
        }
    )


@router.get("/{version}/{user}/threads_insights")
async def user_insights(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := threads._authorize(request, params, user)) is not None:
        return refused
    asked = _asked(params, USER_METRICS)
    if isinstance(asked, JSONResponse):
        return asked
    now = int(time.time())
    try:
        since = max(int(params.get("since", now - 86400)), FIRST)
        until = int(params.get("until", now))
    except ValueError:
        return graph_error(100, "(#100) since and until must be unix timestamps")
    first = datetime.fromtimestamp(since, UTC).date()
    days = [first + timedelta(days=n) for n in range(max((until - since + 86399) // 86400, 0))]
    rows: list[dict[str, Any]] = []
    for name in asked:
        row: dict[str, Any] = {"name": name, "period": "day", "id": f"{user}/insights/{name}/day"}
        if name == "views":
            row["values"] = [
                {
                    "value": day_counts(user, day)["views"],
                    "end_time": f"{(day + timedelta(days=1)).isoformat()}T07:00:00+0000",
                }
                for day in days
            ]
        elif name == "followers_count":
            row["total_value"] = {"value": day_numbers(user, date.today())["followers"]}
        else:
            row["total_value"] = {"value": sum(day_counts(user, day)[name] for day in days)}
        rows.append(row)
    return JSONResponse({"data": rows})
