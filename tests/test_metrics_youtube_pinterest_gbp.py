"""YouTube, Pinterest and Google Business Profile metrics (issue 23, docs/platforms.md §16.10,
§16.8, §16.6), read through the real delivery, metrics workflow and sandbox: each post's
offered metrics at +1 h, each account's days, and a refusal a reading meets."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from core.db import utcnow
from core.models import Target
from core.status import Platform, TargetStatus
from providers.base import Credentials
from providers.metrics.google_business import PERFORMANCE, GoogleBusinessMetrics
from providers.metrics.pinterest import PinterestMetrics
from providers.metrics.youtube import ANALYTICS, YouTubeMetrics
from sandbox.google_business_insights import day_metrics as location_day
from sandbox.metrics_numbers import day_numbers
from sandbox.tokens import issue_token
from tests.support.harness import Harness
from tests.support.servers import RunningSandbox
from tests.test_post_metrics import collect, dated, insight_days, readings

CHANNEL = "UCsandboxMetrics00000001"
BOARD = "549755885377"
LOCATION = "accounts/111/locations/277"


async def published(harness: Harness, platform: Platform, account: str, **options: Any) -> Target:
    """A post published on `platform` through the real delivery, made 70 minutes old."""
    target, handle = await harness.schedule(
        after=None, platform=platform, account_id=account, body=f"post {uuid.uuid4()}", **options
    )
    assert (await handle.result()).status == TargetStatus.PUBLISHED
    if platform == Platform.GOOGLE_BUSINESS:
        # A local post has no numbers to grow, and its name (accounts/…/localPosts/…) is no
        # path segment for the sandbox's age control: crier's record alone is made older.
        return await published_ago(harness, target.id, timedelta(minutes=70))
    return await dated(harness, target.id, timedelta(minutes=70))


async def published_ago(harness: Harness, target_id: str, ago: timedelta) -> Target:
    async with harness.db.session() as session:
        row = await session.get(Target, target_id)
        assert row is not None
        row.published_at = utcnow() - ago
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row


def week() -> list[date]:
    """The days an account's first reading brings: the seven up to yesterday (UTC)."""
    yesterday = utcnow().date() - timedelta(days=1)
    return [yesterday - timedelta(days=n) for n in range(6, -1, -1)]


async def calls(harness: Harness, path: str) -> int:
    answer = await harness.sandbox.get("/_control/calls", params={"path": path})
    count: int = answer.json()["meta"]["count"]
    return count


async def fault(harness: Harness, path: str, status: int, body: dict[str, Any]) -> None:
    await harness.inject(method="GET", path=path, status=status, body=body, times=1)


def video(harness: Harness) -> dict[str, Any]:
    return {"media_urls": [f"{harness.settings.sandbox_url}/youtube/media/metrics.mp4"]}


# --- YouTube ----------------------------------------------------------------------------------


async def test_youtube_video_statistics_and_channel_days(harness: Harness) -> None:
    target = await published(harness, Platform.YOUTUBE, CHANNEL, **video(harness))
    reports = await calls(harness, "^/youtube/v2/reports$")
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    # §16.10: views (as impressions and as video views), likes, comments; one unit.
    assert set(hour.values) == {"impressions", "video_views", "likes", "comments"}
    assert hour.values["impressions"] == hour.values["video_views"] > 0 and hour.calls == 1
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week():
        expected = day_numbers(CHANNEL, day)
        engaged = expected["engagements"]
        assert days[day]["impressions"] == expected["impressions"]
        assert days[day]["engagements"] == (
            int(engaged * 0.6) + int(engaged * 0.15) + int(engaged * 0.1)
        )
    # Subscribers now, rounded by YouTube, on the last day read; the days before have none.
    assert days[week()[-1]]["followers"] > 0
    assert all("followers" not in days[day] for day in week()[:-1])
    assert await calls(harness, "^/youtube/v2/reports$") == reports + 1


async def test_a_youtube_quota_refusal_stores_no_reading(harness: Harness) -> None:
    target = await published(harness, Platform.YOUTUBE, CHANNEL, **video(harness))
    quota = {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}}
    await fault(harness, "^/youtube/youtube/v3/videos$", 403, quota)
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (0, 1)
    assert await readings(harness, target.id) == []


# --- Pinterest --------------------------------------------------------------------------------


async def test_pinterest_pin_analytics_and_user_days(harness: Harness) -> None:
    target = await published(
        harness, Platform.PINTEREST, BOARD, media_urls=["https://cdn.example.org/metrics.jpg"]
    )
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    # §16.8: impressions, pin clicks, saves; an image pin has no video views.
    assert set(hour.values) == {"impressions", "clicks", "saves"}
    assert hour.values["impressions"] > 0 and hour.calls == 1
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week():
        expected = day_numbers(f"board_{BOARD}", day)  # the board's user, as Pinterest has it
        assert days[day]["impressions"] == expected["impressions"]
        assert days[day]["engagements"] == expected["engagements"]
    assert days[week()[-1]]["followers"] > 0


async def test_pinterest_leaves_out_a_day_it_is_still_processing(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    reader = PinterestMetrics(sandbox_http, f"{sandbox.url}/pinterest")
    account = Credentials(BOARD, issue_token(sandbox.secret, "pinterest", BOARD))
    today = utcnow().date()
    insights = await reader.account(account, today - timedelta(days=1), today)
    # Today is PROCESSING at Pinterest: only the follower count now stands for it.
    assert [(d.day, set(d.values)) for d in insights.days] == [
        (today - timedelta(days=1), {"impressions", "engagements"}),
        (today, {"followers"}),
    ]
    assert insights.calls == 2


async def test_a_pinterest_rate_limit_stores_no_reading(harness: Harness) -> None:
    target = await published(
        harness, Platform.PINTEREST, BOARD, media_urls=["https://cdn.example.org/metrics.jpg"]
    )
    limited = {"code": 8, "message": "Rate limit exceeded."}
    await fault(harness, f"^/pinterest/v5/pins/{target.external_id}/analytics$", 429, limited)
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (0, 1)
    assert await readings(harness, target.id) == []


# --- Google Business Profile ------------------------------------------------------------------


async def test_google_business_location_days_and_no_post_metrics(harness: Harness) -> None:
    performance = r"^/google_business/v1/locations/277:fetchMultiDailyMetricsTimeSeries$"
    before = await calls(harness, performance)
    target = await published(harness, Platform.GOOGLE_BUSINESS, LOCATION)
    report = await collect(harness)
    # A local post's metrics are not established (§16.6): an empty reading, no call made.
    [hour] = await readings(harness, target.id)
    assert (hour.values, hour.calls) == ({}, 0)
    assert report.unreachable == 0
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week():
        series = location_day("locations/277", day)
        assert days[day] == {
            "impressions": sum(v for k, v in series.items() if "IMPRESSIONS" in k),
            "engagements": series["CALL_CLICKS"]
            + series["WEBSITE_CLICKS"]
            + series["BUSINESS_DIRECTION_REQUESTS"],
        }
    assert await calls(harness, performance) == before + 1  # the location's days, once


async def test_a_google_business_refusal_stores_no_days(harness: Harness) -> None:
    target = await published(harness, Platform.GOOGLE_BUSINESS, "accounts/111/locations/278")
    denied = {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    await fault(harness, "/locations/278:fetchMultiDailyMetricsTimeSeries$", 403, denied)
    report = await collect(harness)
    assert report.unreachable == 1
    assert await insight_days(harness, target.account_id) == {}


# --- hosts ------------------------------------------------------------------------------------


async def test_the_live_second_hosts() -> None:
    """At Google's own roots, Analytics and the Performance API are on their own hosts."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.scheme}://{request.url.host}{request.url.path}")
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        account = Credentials("accounts/1/locations/2", "token")
        day = date(2026, 8, 1)
        await YouTubeMetrics(http, "https://www.googleapis.com").account(account, day, day)
        await GoogleBusinessMetrics(http, "https://mybusiness.googleapis.com").account(
            account, day, day
        )
    assert asked == [
        f"{ANALYTICS}/v2/reports",
        f"{PERFORMANCE}/v1/locations/2:fetchMultiDailyMetricsTimeSeries",
    ]
