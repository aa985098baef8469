"""Business Profile Performance API v1 stand-in (docs/platforms.md §16.6): a location's
`GET /v1/locations/{l}:fetchMultiDailyMetricsTimeSeries`, with numbers from
sandbox/metrics_numbers.py. Google serves it on its own host
(businessprofileperformance.googleapis.com); the sandbox under `/google_business`, beside v4.

The token checks are sandbox/google_business.py's: a token for the location
(`accounts/{a}/locations/{l}`) or for an account managing it (sandbox/logins/google_business.py).
A zero is left out of its dated value, as proto3's JSON does. Included before the login router,
whose `/v1/locations/{l}` would otherwise take `{l}:fetchMulti…` for a location id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.google_business import google_error
from sandbox.logins.google_business import LOCATIONS
from sandbox.metrics_numbers import day_numbers
from sandbox.tokens import token_claims

router = APIRouter(prefix="/google_business", tags=["google_business"])

DAILY_METRICS = (
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_DIRECTION_REQUESTS",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
)
INVALID_ARGUMENT = "Request contains an invalid argument."


def _refused(request: Request, location: str) -> JSONResponse | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "google_business":
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )
    subject = claims.subject
    managed = {loc["name"] for loc in LOCATIONS.get(subject, ())}
    if not (subject.endswith(f"/{location}") or location in managed):
        return google_error(403, "The caller does not have permission")
    return None


def day_metrics(location: str, day: date) -> dict[str, int]:
    """A bakery's day: seen on Search and Maps, some calls and visits, no bookings or orders."""
    numbers = day_numbers(location, day)
    seen, acted = numbers["impressions"], numbers["engagements"]
    return {
        "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": int(seen * 0.1),
        "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": int(seen * 0.2),
        "BUSINESS_IMPRESSIONS_MOBILE_MAPS": int(seen * 0.3),
        "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": int(seen * 0.4),
        "CALL_CLICKS": int(acted * 0.2),
        "WEBSITE_CLICKS": int(acted * 0.5),
        "BUSINESS_DIRECTION_REQUESTS": int(acted * 0.3),
        "BUSINESS_CONVERSATIONS": 0,
        "BUSINESS_BOOKINGS": 0,
        "BUSINESS_FOOD_ORDERS": 0,
        "BUSINESS_FOOD_MENU_CLICKS": 0,
    }


def _range_date(params: Any, end: str) -> date | None:
    try:
        return date(*(int(params[f"dailyRange.{end}.{p}"]) for p in ("year", "month", "day")))
    except (KeyError, ValueError):
        return None


def _value(value: int) -> dict[str, str]:
    return {"value": str(value)} if value else {}  # proto3's JSON leaves a zero out


def _date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


@router.get("/v1/locations/{location_id}:fetchMultiDailyMetricsTimeSeries")
async def fetch_multi_daily_metrics(location_id: str, request: Request) -> JSONResponse:
    location = f"locations/{location_id}"
    if (refused := _refused(request, location)) is not None:
        return refused
    params = request.query_params
    asked = params.getlist("dailyMetrics")
    start, end = _range_date(params, "startDate"), _range_date(params, "endDate")
    if (
        not asked
        or any(m not in DAILY_METRICS for m in asked)
        or start is None
        or end is None
        or end < start
    ):
        return google_error(400, INVALID_ARGUMENT)
    # No value for a day not over yet.
    last = min(end, datetime.now(UTC).date() - timedelta(days=1))
    days = [start + timedelta(days=n) for n in range(max((last - start).days + 1, 0))]
    numbers = {day: day_metrics(location, day) for day in days}
    series = [
        {
            "dailyMetric": metric,
            "timeSeries": {
                "datedValues": [{"date": _date(day)} | _value(numbers[day][metric]) for day in days]
            },
        }
        for metric in asked
    ]
    return JSONResponse({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]})
