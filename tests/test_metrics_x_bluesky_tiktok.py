"""Metrics of X, Bluesky and TikTok (issue 23, docs/platforms.md §16.5, §16.7, §16.9), collected
through the real delivery, worker, metrics workflow and sandbox, as tests/test_post_metrics.py
does for Facebook: each platform's offered metrics only (absent is not zero), followers as the
one account count all three give (read now, stored as yesterday), and a refused reading that
stores nothing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from core.db import utcnow
from core.models import Target
from core.status import Platform, TargetStatus
from providers.metrics.bluesky import BlueskyMetrics
from providers.metrics.counts import current_day, total
from providers.metrics.tiktok import TikTokMetrics
from providers.metrics.x import XMetrics
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.harness import Harness
from tests.test_post_metrics import collect, dated, insight_days, readings

ACCOUNTS = {
    Platform.X: "1600000000000000077",
    Platform.BLUESKY: "did:plc:metricsreader00000000000",
    Platform.TIKTOK: "tiktok-open-id-metrics",
}
# What each platform gives for a post without video (X's views come with a video only).
OFFERED = {
    Platform.X: {"impressions", "likes", "comments", "shares", "saves", "clicks"},
    Platform.BLUESKY: {"likes", "comments", "shares", "saves"},
    Platform.TIKTOK: {"impressions", "video_views", "likes", "comments", "shares"},
}
# The post-metrics call of each, and an error answer shaped as that platform's.
REFUSALS: dict[Platform, dict[str, Any]] = {
    Platform.X: {
        "method": "GET",
        "path": r"^/x/2/tweets$",
        "status": 429,
        "body": {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
    },
    Platform.BLUESKY: {
        "method": "GET",
        "path": r"app\.bsky\.feed\.getPosts$",
        "status": 502,
        "body": {"error": "UpstreamFailure", "message": "Upstream Failure"},
    },
    Platform.TIKTOK: {
        "method": "POST",
        "path": r"/v2/video/query/$",
        "status": 429,
        "body": {"error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "1"}},
    },
}
ACCOUNT_CALLS = {
    Platform.X: r"^/x/2/users$",
    Platform.BLUESKY: r"app\.bsky\.actor\.getProfile$",
    Platform.TIKTOK: r"^/tiktok/v2/user/info/$",
}


async def published_on(harness: Harness, platform: Platform, *, ago: timedelta) -> Target:
    """A post on `platform` published through the real delivery, then dated `ago` back."""
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, platform, ACCOUNTS[platform])
    video = f"{harness.settings.sandbox_url}/samples/video/clip.mp4"
    post, target = await make_post(
        harness.db,
        tenant,
        account,
        body=f"post {uuid.uuid4()}",
        media_urls=[video] if platform is Platform.TIKTOK else None,
    )
    if platform is Platform.TIKTOK:
        # TikTok answers counts for public videos only; crier's default is the most private.
        target.options = {"privacy_level": "PUBLIC_TO_EVERYONE"}
    handle = await harness.start(post, target)
    assert (await handle.result()).status == TargetStatus.PUBLISHED
    if platform is Platform.BLUESKY:
        return await bluesky_dated(harness, target.id, ago)
    return await dated(harness, target.id, ago)


async def bluesky_dated(harness: Harness, target_id: str, ago: timedelta) -> Target:
    """`dated` for a Bluesky post, whose at:// URI the generic age path cannot carry."""
    async with harness.db.session() as session:
        row = await session.get(Target, target_id)
        assert row is not None and row.published_at is not None
        row.published_at = utcnow() - ago
        session.add(row)
        await session.commit()
        await session.refresh(row)
    aged = await harness.sandbox.post(
        "/_control/bluesky/posts/age",
        json={"uri": row.external_id, "seconds": ago.total_seconds()},
    )
    assert aged.status_code == 200, aged.text
    return row


async def calls_to(harness: Harness, path: str) -> int:
    found = await harness.sandbox.get("/_control/calls", params={"path": path})
    count: int = found.json()["meta"]["count"]
    return count


@pytest.mark.parametrize("platform", list(ACCOUNTS), ids=lambda p: p.value)
async def test_a_post_and_the_accounts_followers_are_read(
    harness: Harness, platform: Platform
) -> None:
    target = await published_on(harness, platform, ago=timedelta(hours=25, minutes=10))
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [day] = await readings(harness, target.id)
    assert day.offset_label == "24h"
    assert set(day.values) == OFFERED[platform]
    # A day old, the sandbox's post has been seen and liked.
    assert day.values["likes"] > 0 and day.calls == 1
    if "impressions" in day.values:
        assert day.values["impressions"] >= day.values["likes"]
    if platform is Platform.TIKTOK:  # one number: views
        assert day.values["impressions"] == day.values["video_views"]

    # Followers now, stored as yesterday: no history, no impressions or reach for the account.
    yesterday = utcnow().date() - timedelta(days=1)
    days = await insight_days(harness, target.account_id)
    assert list(days) == [yesterday] and set(days[yesterday]) == {"followers"}
    assert days[yesterday]["followers"] > 0
    # Yesterday is in: the next run reads neither the post nor the account again.
    again = await collect(harness)
    assert (again.post_readings, again.account_days) == (0, 0)
    assert await calls_to(harness, ACCOUNT_CALLS[platform]) == 1


@pytest.mark.parametrize("platform", list(ACCOUNTS), ids=lambda p: p.value)
async def test_a_refused_reading_stores_nothing(harness: Harness, platform: Platform) -> None:
    target = await published_on(harness, platform, ago=timedelta(minutes=70))
    await harness.sandbox.post("/_control/faults", json=REFUSALS[platform])
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (0, 1)
    assert await readings(harness, target.id) == []
    # Not taken, so due still: the next run reads it.
    assert (await collect(harness)).post_readings == 1


async def test_an_x_video_gives_its_views(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(
        harness.db, harness.settings, tenant, Platform.X, ACCOUNTS[Platform.X]
    )
    video = f"{harness.settings.sandbox_url}/samples/video/clip.mp4"
    post, target = await make_post(
        harness.db, tenant, account, body=f"clip {uuid.uuid4()}", media_urls=[video]
    )
    assert (await (await harness.start(post, target)).result()).status == TargetStatus.PUBLISHED
    await dated(harness, target.id, timedelta(hours=25))
    await collect(harness)
    [day] = await readings(harness, target.id)
    assert set(day.values) == OFFERED[Platform.X] | {"video_views"}
    assert day.values["video_views"] > 0


async def test_a_tiktok_post_known_by_its_publish_id_is_read_by_its_video_id(
    harness: Harness,
) -> None:
    target = await published_on(harness, Platform.TIKTOK, ago=timedelta(hours=2))
    publishes = (await harness.sandbox.get("/_control/tiktok/publishes")).json()["data"]
    [publish] = [p for p in publishes if p["post_id"] == target.external_id]
    # As if crier had reported it before TikTok made it public (docs/platforms.md §9).
    async with harness.db.session() as session:
        row = await session.get(Target, target.id)
        assert row is not None
        row.external_id = publish["id"]
        session.add(row)
        await session.commit()
    assert (await collect(harness)).post_readings == 1
    [hour] = await readings(harness, target.id)
    assert set(hour.values) == OFFERED[Platform.TIKTOK] and hour.calls == 2


def test_what_each_reader_offers_and_spends() -> None:
    # docs/platforms.md §16: the summary table's "no" columns are never offered.
    assert "reach" not in XMetrics.post_metrics | BlueskyMetrics.post_metrics
    assert not {"impressions", "reach", "clicks", "video_views"} & BlueskyMetrics.post_metrics
    assert not {"reach", "clicks", "saves"} & TikTokMetrics.post_metrics
    for reader in (XMetrics, BlueskyMetrics, TikTokMetrics):
        assert reader.account_metrics == {"followers"}
    # Budgets: a small share of each platform's documented limit for these calls.
    assert XMetrics.budget.calls * 100 <= 5_000 and XMetrics.budget.window.seconds == 900
    assert TikTokMetrics.budget.calls * 20 <= 600 and TikTokMetrics.budget.window.seconds == 60


def test_a_count_read_now_stands_for_yesterday_or_today_only() -> None:
    today = date(2026, 12, 10)
    assert current_day(today - timedelta(days=1), today=today) == today - timedelta(days=1)
    assert current_day(today, today=today) == today
    assert current_day(today - timedelta(days=2), today=today) is None  # no history
    assert total(3, None, 4) == 7 and total(None, None) is None
