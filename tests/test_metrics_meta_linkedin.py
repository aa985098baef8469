"""Instagram, Threads and LinkedIn metrics (issue 23, docs/platforms.md §16.2-16.4), read
through the real delivery, metrics workflow and sandbox: each post's offered metrics at +1 h,
each account's days, and the refusals a reading meets."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from core.db import utcnow
from core.models import Target
from core.status import Platform, TargetStatus
from sandbox.metrics_numbers import day_numbers
from tests.support.harness import Harness
from tests.test_post_metrics import collect, dated, insight_days, readings

IG_USER = "17841400000000031"
THREADS_USER = "27000000000000031"
ORGANIZATION = "urn:li:organization:101"
MEMBER = "urn:li:person:metricsMember"


async def published(harness: Harness, platform: Platform, account: str, **options: Any) -> Target:
    """A post published on `platform` through the real delivery, made 70 minutes old."""
    target, handle = await harness.schedule(
        after=None, platform=platform, account_id=account, body=f"post {uuid.uuid4()}", **options
    )
    assert (await handle.result()).status == TargetStatus.PUBLISHED
    return await dated(harness, target.id, timedelta(minutes=70))


def week() -> list[date]:
    """The days an account's first reading brings: the seven up to yesterday (UTC)."""
    yesterday = utcnow().date() - timedelta(days=1)
    return [yesterday - timedelta(days=n) for n in range(6, -1, -1)]


async def calls(harness: Harness, path: str) -> int:
    answer = await harness.sandbox.get("/_control/calls", params={"path": path})
    count: int = answer.json()["meta"]["count"]
    return count


async def test_instagram_media_and_account_insights(harness: Harness) -> None:
    target = await published(
        harness, Platform.INSTAGRAM, IG_USER, media_urls=["https://cdn.example.org/0.jpg"]
    )
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    # §16.2: views (as impressions), reach, likes, comments, shares, saves; no clicks.
    assert set(hour.values) == {"impressions", "reach", "likes", "comments", "shares", "saves"}
    assert hour.values["impressions"] > 0 and hour.calls == 1
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week()[:-1]:
        expected = day_numbers(IG_USER, day)
        assert days[day] == {
            "impressions": expected["impressions"],
            "reach": expected["reach"],
            "engagements": expected["engagements"],
        }
    # Followers are the total now, on the last day read: Instagram keeps no daily totals.
    assert days[week()[-1]]["followers"] > 0
    # One reach series, a call for each day's totals, one for the follower count.
    assert await calls(harness, f"/{IG_USER}/insights$") == 1 + 7
    assert await calls(harness, f"/{IG_USER}$") == 1


async def test_an_instagram_media_with_too_few_viewers_has_no_numbers_yet(
    harness: Harness,
) -> None:
    target = await published(
        harness, Platform.INSTAGRAM, IG_USER, media_urls=["https://cdn.example.org/0.jpg"]
    )
    refusal = {"error": {"message": "(#10) Not enough viewers for the media to show insights",
                         "type": "OAuthException", "code": 10}}  # fmt: skip
    fault = {"path": f"/{target.external_id}/insights$", "status": 400, "body": refusal}
    assert (await harness.sandbox.post("/_control/faults", json=fault)).status_code == 200
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    assert hour.values == {}  # nothing given, and nothing made up as zero


async def test_threads_post_and_user_insights(harness: Harness) -> None:
    target = await published(harness, Platform.THREADS, THREADS_USER)
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    # §16.3: views, likes, replies, reposts + quotes + shares; no reach, saves or clicks.
    assert set(hour.values) == {"impressions", "likes", "comments", "shares"}
    assert hour.values["impressions"] > 0 and hour.calls == 1
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week():
        expected = day_numbers(THREADS_USER, day)
        assert days[day]["profile_views"] == expected["profile_views"]
        assert days[day]["engagements"] == expected["engagements"]
    assert set(days[week()[-1]]) == {"profile_views", "engagements", "followers"}
    assert "followers" not in days[week()[0]]


async def test_linkedin_page_post_and_page_statistics(harness: Harness) -> None:
    target = await published(harness, Platform.LINKEDIN, ORGANIZATION)
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    assert set(hour.values) == {"impressions", "reach", "clicks", "likes", "comments", "shares"}
    assert hour.values["impressions"] > 0 and hour.calls == 1
    days = await insight_days(harness, target.account_id)
    assert sorted(days) == week()
    for day in week():
        expected = day_numbers(ORGANIZATION, day)
        assert days[day]["impressions"] == expected["impressions"]
        assert days[day]["reach"] == expected["reach"]
        assert days[day]["engagements"] == expected["engagements"]
        assert days[day]["profile_views"] == expected["profile_views"]
    assert days[week()[-1]]["followers"] > 0


async def test_a_linkedin_member_gets_post_analytics_and_no_account_insights(
    harness: Harness,
) -> None:
    target = await published(harness, Platform.LINKEDIN, MEMBER)
    report = await collect(harness)
    assert (report.post_readings, report.unreachable, report.account_days) == (1, 0, 0)
    [hour] = await readings(harness, target.id)
    # §16.4: impressions, members reached, reactions, comments, reshares; one call each.
    assert set(hour.values) == {"impressions", "reach", "likes", "comments", "shares"}
    assert hour.values["impressions"] > 0 and hour.calls == 5
    assert await insight_days(harness, target.account_id) == {}
    assert await calls(harness, "/linkedin/rest/organization") == 0


async def test_a_refused_linkedin_reading_is_left_for_the_next_run(harness: Harness) -> None:
    target = await published(harness, Platform.LINKEDIN, ORGANIZATION)
    fault = {
        "path": "/linkedin/rest/organizationalEntityShareStatistics$",
        "status": 500,
        "body": {"status": 500, "message": "Internal Server Error"},
    }
    assert (await harness.sandbox.post("/_control/faults", json=fault)).status_code == 200
    report = await collect(harness)
    assert (report.post_readings, report.unreachable) == (0, 1)
    assert await readings(harness, target.id) == []
    # The page's days were still read, and the post is read on the next run.
    assert len(await insight_days(harness, target.account_id)) == 7
    assert (await collect(harness)).post_readings == 1
