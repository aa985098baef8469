"""Pinterest v5 analytics stand-in (docs/platforms.md §16.8): a pin's
`GET /v5/pins/{pin_id}/analytics` and the user's `GET /v5/user_account/analytics`, with
numbers from sandbox/metrics_numbers.py, the token checks and rate limit of
sandbox/pinterest.py, and its `{code, message}` refusals.

A pin's day is what its counts grew by that (UTC) day, so its days add up to its totals:
`summary_metrics` over the days asked, `lifetime_metrics` since it was made. A video pin alone
has video views. The user's days are READY up to yesterday; today is still PROCESSING.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import pinterest
from sandbox.metrics_numbers import day_numbers, post_numbers
from sandbox.state import SandboxPost, SandboxState

router = APIRouter(prefix="/pinterest", tags=["pinterest"])

MAX_DAYS_BACK = 90
PIN_METRICS = ("IMPRESSION", "PIN_CLICK", "OUTBOUND_CLICK", "SAVE", "VIDEO_MRC_VIEW")
USER_METRICS = ("IMPRESSION", "ENGAGEMENT", "PIN_CLICK", "SAVE", "OUTBOUND_CLICK")


def _dates(params: Any) -> tuple[date, date] | JSONResponse:
    """`start_date` and `end_date`, both within the last 90 days, in order."""
    today = datetime.now(UTC).date()
    try:
        start = date.fromisoformat(str(params.get("start_date")))
        end = date.fromisoformat(str(params.get("end_date")))
    except ValueError:
        return pinterest.error(400, 1, "Invalid parameters: start_date and end_date are required.")
    problems = []
    if start < today - timedelta(days=MAX_DAYS_BACK):
        problems.append(f"start_date must be within the last {MAX_DAYS_BACK} days")
    if end < start:
        problems.append("end_date must not be before start_date")
    if problems:
        return pinterest.error(400, 1, f"Invalid parameters: {'; '.join(problems)}.")
    return start, end


def _metric_types(params: Any, known: Any) -> list[str] | JSONResponse:
    asked = [m for m in str(params.get("metric_types") or "").split(",") if m]
    unknown = [m for m in asked if m not in known]
    if not asked or unknown:
        return pinterest.error(
            400, 1, f"Invalid parameters: metric_types: {', '.join(unknown) or 'required'}."
        )
    return asked


def _at(post: SandboxPost, moment: float, *, video: bool) -> dict[str, int]:
    """The pin's counts as they stood at `moment` (unix seconds), in Pinterest's names."""
    age = min(max(moment - post.received_at, 0), time.time() - post.received_at)
    counts = post_numbers(post.id, age)
    found = {
        "IMPRESSION": counts["impressions"],
        "PIN_CLICK": counts["clicks"],
        "OUTBOUND_CLICK": int(counts["clicks"] * 0.4),  # the clicks that left for the link
        "SAVE": counts["saves"],
    }
    return found | ({"VIDEO_MRC_VIEW": counts["video_views"]} if video else {})


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@router.get("/v5/pins/{pin_id}/analytics")
async def pin_analytics(pin_id: str, request: Request) -> JSONResponse:
    subject = pinterest._authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    state: SandboxState = request.app.state.sandbox
    pin = pinterest._pins(request).pins.get(pin_id)
    post = next((p for p in state.posts_for("pinterest") if p.id == pin_id), None)
    if (
        pin is None
        or post is None
        or pin["board_id"] not in {b.id for b in pinterest.boards_of(subject)}
    ):
        return pinterest.error(404, 50, "Pin not found.")
    dates = _dates(request.query_params)
    if isinstance(dates, JSONResponse):
        return dates
    asked = _metric_types(request.query_params, PIN_METRICS)
    if isinstance(asked, JSONResponse):
        return asked
    start, end = dates
    video = (pin.get("media") or {}).get("media_type") == "video"

    def grown(since: float, until: float) -> dict[str, int]:
        before, after = _at(post, since, video=video), _at(post, until, video=video)
        return {m: after[m] - before[m] for m in asked if m in after}

    daily = [
        {
            "date": day.isoformat(),
            "data_status": "READY",
            "metrics": grown(_midnight(day), _midnight(day + timedelta(days=1))),
        }
        for day in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]
    lifetime = _at(post, time.time(), video=video)
    return JSONResponse(
        {
            "all": {
                "daily_metrics": daily,
                "summary_metrics": grown(_midnight(start), _midnight(end + timedelta(days=1))),
                "lifetime_metrics": {m: lifetime[m] for m in asked if m in lifetime},
            }
        }
    )


def user_day(username: str, day: date) -> dict[str, int]:
    """The user's day in Pinterest's names."""
    numbers = day_numbers(username, day)
    engaged = numbers["engagements"]
    return {
        "IMPRESSION": numbers["impressions"],
        "ENGAGEMENT": engaged,
        "PIN_CLICK": int(engaged * 0.5),
        "SAVE": int(engaged * 0.3),
        "OUTBOUND_CLICK": int(engaged * 0.2),
    }


@router.get("/v5/user_account/analytics")
async def user_account_analytics(request: Request) -> JSONResponse:
    subject = pinterest._authorize(request)
    if isinstance(subject, JSONResponse):
        return subject
    dates = _dates(request.query_params)
    if isinstance(dates, JSONResponse):
        return dates
    params = request.query_params
    asked = (
        _metric_types(params, USER_METRICS) if params.get("metric_types") else list(USER_METRICS)
    )
    if isinstance(asked, JSONResponse):
        return asked
    start, end = dates
    today = datetime.now(UTC).date()
    username = pinterest.username_of(subject)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    # Today is not over: PROCESSING, with nothing counted yet.
    metrics = {
        day: {m: user_day(username, day)[m] if day < today else 0 for m in asked} for day in days
    }
    daily = [
        {
            "date": day.isoformat(),
            "data_status": "READY" if day < today else "PROCESSING",
            "metrics": metrics[day],
        }
        for day in days
    ]
    summary = {m: sum(metrics[day][m] for day in days) for m in asked}
    return JSONResponse({"all": {"daily_metrics": daily, "summary_metrics": summary}})
