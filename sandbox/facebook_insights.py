"""Graph's insights edges for the sandbox's Pages and their posts, and the counts a post's
own fields carry (reactions, comments, shares): numbers from sandbox/metrics_numbers.py.

`GET /{post-id}/insights?metric=…` answers lifetime values; `GET /{page-id}/insights?metric=…
&period=day&since=&until=` one value per day, each stamped with the end of its day, as Graph
does. Both check the Page token and count against the Page's hourly calls."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import facebook
from sandbox.metrics_numbers import day_numbers, post_numbers

router = APIRouter(prefix="/facebook", tags=["facebook"])

POST_METRICS = {
    "post_media_view": "impressions",  # views: post_impressions went on 2025-11-15
    "post_total_media_view_unique": "reach",
    "post_clicks": "clicks",
}
PAGE_METRICS = {
    "page_media_view": "impressions",  # views: page_impressions went on 2025-11-15
    "page_total_media_view_unique": "reach",
    "page_post_engagements": "engagements",
    "page_views_total": "profile_views",
    "page_follows": "followers",
}


def _metrics(params: dict[str, Any], known: dict[str, str]) -> list[str] | JSONResponse:
    asked = [m for m in str(params.get("metric", "")).split(",") if m]
    unknown = [m for m in asked if m not in known]
    if not asked or unknown:
        return facebook.graph_error(
            100, f"(#100) The value must be a valid insights metric: {', '.join(unknown)}"
        )
    return asked


@router.get("/{version}/{object_id}/insights")
async def insights(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await facebook.read_params(request)
    post = next(
        (p for p in request.app.state.sandbox.posts_for("facebook") if p.id == object_id), None
    )
    if post is not None:
        if (refused := facebook._authorize(request, params, post.account)) is not None:
            return refused
        asked = _metrics(params, POST_METRICS)
        if isinstance(asked, JSONResponse):
            return asked
        counts = post_numbers(post.id, time.time() - post.received_at)
        return JSONResponse(
            {
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": counts[POST_METRICS[name]]}],
                        "id": f"{post.id}/insights/{name}/lifetime",
                    }
                    for name in asked
                ]
            }
        )
    if (refused := facebook._authorize(request, params, object_id)) is not None:
        return refused
    asked = _metrics(params, PAGE_METRICS)
    if isinstance(asked, JSONResponse):
        return asked
    since = _date(params.get("since")) or date.today() - timedelta(days=2)
    until = _date(params.get("until")) or date.today()
    days = [since + timedelta(days=n) for n in range(max((until - since).days, 0))][:93]
    return JSONResponse(
        {
            "data": [
                {
                    "name": name,
                    "period": "day",
                    "values": [
                        {
                            "value": day_numbers(object_id, day)[PAGE_METRICS[name]],
                            # The end of the day the value counts (Graph's Pacific midnight).
                            "end_time": f"{(day + timedelta(days=1)).isoformat()}T08:00:00+0000",
                        }
                        for day in days
                    ],
                    "id": f"{object_id}/insights/{name}/day",
                }
                for name in asked
            ]
        }
    )


def _date(value: Any) -> date | None:
    if value is None:
        return None
    text = str(value)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        try:
            return datetime.fromtimestamp(int(text)).date()
        except ValueError:
            return None
