"""YouTube Analytics API v2 stand-in (docs/platforms.md §16.10): a channel's day-by-day report,
`GET /v2/reports?ids=channel==MINE&startDate=&endDate=&metrics=…&dimensions=day`, with numbers
from sandbox/metrics_numbers.py. Google serves it on its own host
(youtubeanalytics.googleapis.com); the sandbox under `/youtube`, beside the Data API.

Also the channel's statistics that `channels.list?part=statistics` answers (`channel_statistics`):
today's counts only, `subscriberCount` rounded to three significant figures, as YouTube does (U).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import youtube
from sandbox.metrics_numbers import day_numbers

router = APIRouter(prefix="/youtube", tags=["youtube"])

METRICS = (
    "views",
    "likes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
    "estimatedMinutesWatched",
)
IDS = "channel==MINE"


def _day_metrics(channel: str, day: date) -> dict[str, int]:
    numbers = day_numbers(channel, day)
    engaged = numbers["engagements"]
    return {
        "views": numbers["impressions"],
        "likes": int(engaged * 0.6),
        "comments": int(engaged * 0.15),
        "shares": int(engaged * 0.1),
        "subscribersGained": int(engaged * 0.05),
        "subscribersLost": int(engaged * 0.01),
        "estimatedMinutesWatched": numbers["impressions"] * 2,
    }


def channel_statistics(request: Request, channel: str) -> dict[str, Any]:
    """`channels.list` statistics for the channel now (strings, as YouTube sends them)."""
    today = datetime.now(UTC).date()
    subscribers = day_numbers(channel, today)["followers"]
    rounded = int(float(f"{subscribers:.3g}")) if subscribers else 0
    views = sum(day_numbers(channel, today - timedelta(days=n))["impressions"] for n in range(30))
    return {
        "viewCount": str(views),
        "subscriberCount": str(rounded),
        "hiddenSubscriberCount": False,
        "videoCount": str(
            sum(v["snippet"]["channelId"] == channel for v in youtube._yt(request).videos.values())
        ),
    }


def _bad(message: str) -> JSONResponse:
    return youtube.google_error(400, "badRequest", message, domain="global")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


@router.get("/v2/reports")
async def reports(request: Request) -> JSONResponse:
    if (channel := youtube._channel(request)) is None:
        return youtube.unauthorized()
    query = request.query_params
    problems = [
        f"Required field parameters.{name} is missing."
        for name in ("ids", "startDate", "endDate", "metrics")
        if not query.get(name)
    ]
    if problems:
        return _bad(" ".join(problems))
    if query["ids"] not in (IDS, f"channel=={channel}"):
        return youtube.google_error(403, "forbidden", "Forbidden", domain="global")
    asked = [m for m in query["metrics"].split(",") if m]
    unknown = [m for m in asked if m not in METRICS]
    if unknown:
        return _bad(f"Unknown identifier ({unknown[0]}) given in field parameters.metrics.")
    if query.get("dimensions", "day") != "day":
        return _bad(f"The query is not supported. Dimensions: {query.get('dimensions')}.")
    start, end = _date(query.get("startDate")), _date(query.get("endDate"))
    if start is None or end is None or end < start:
        return _bad("Invalid value for parameters.startDate or parameters.endDate.")
    # No row for a day that has not happened yet.
    last = min(end, datetime.now(UTC).date())
    days = [start + timedelta(days=n) for n in range(max((last - start).days + 1, 0))]
    headers = [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}] + [
        {"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in asked
    ]
    rows = [[day.isoformat(), *(_day_metrics(channel, day)[m] for m in asked)] for day in days]
    return JSONResponse(
        {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": rows}
    )
