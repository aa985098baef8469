"""Metrics and insights (issue 23), collected through the real worker, Schedule workflow and
sandbox: a live post's readings at +1 h, +24 h, +7 d; an account's daily insights; the
platform's budget; a worker restart in between; the API's answers; the low-engagement alert.

Time after publishing is made by moving the target's `published_at` back: the collector reads
the wall clock, as it does in production."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from core.db import utcnow
from core.engagement import engagement, low_engagement
from core.messages.metrics import MetricsReport
from core.models import Account, AccountInsight, Event, Notification, PostMetric, Target
from core.status import Platform, TargetStatus
from providers.metrics.base import MetricsBudget
from providers.metrics.facebook import FacebookMetrics
from sandbox.metrics_numbers import day_numbers, post_numbers
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, add_key, make_account, make_post, make_tenant
from tests.support.harness import Harness
from workflows.metrics import MetricsWorkflow


async def collect(harness: Harness) -> MetricsReport:
    """One run of the metrics schedule's workflow, as the Schedule starts it."""
    return await harness.env.client.execute_workflow(
        MetricsWorkflow.run,
        id=f"metrics-{uuid.uuid4()}",
        task_queue=harness.settings.task_queue,
    )


async def published(harness: Harness, *, ago: timedelta, page: str = "200000000000001") -> Target:
    """A Facebook post published through the real delivery, then dated `ago` in the past."""
    # Each its own text: Graph refuses the same message twice on a Page.
    target, handle = await harness.schedule(
        after=None, account_id=page, body=f"post {uuid.uuid4()}"
    )
    assert (await handle.result()).status == TargetStatus.PUBLISHED
    return await dated(harness, target.id, ago)


async def readings(harness: Harness, target_id: str) -> list[PostMetric]:
    async with harness.db.session() as session:
        rows = await session.exec(
            select(PostMetric)
            .where(PostMetric.target_id == target_id)
            .order_by(col(PostMetric.collected_at))
        )
        return list(rows.all())


async def insight_days(harness: Harness, account_id: str) -> dict[date, dict[str, int]]:
    async with harness.db.session() as session:
        rows = await session.exec(
            select(AccountInsight).where(AccountInsight.account_id == account_id)
        )
        return {row.day: row.values for row in rows.all()}


async def test_a_post_is_read_at_each_offset_once_and_the_page_daily_across_a_restart(
    harness: Harness,
) -> None:
    target = await published(harness, ago=timedelta(minutes=70))
    first = await collect(harness)
    assert (first.post_readings, first.unreachable) == (1, 0)
    [hour] = await readings(harness, target.id)
    assert hour.offset_label == "1h"
    # Facebook gives these (docs/platforms.md §16.1); saves and video views it does not.
    assert set(hour.values) == {"impressions", "reach", "clicks", "likes", "comments", "shares"}
    assert hour.values["impressions"] > 0 and hour.calls == 2
    days = await insight_days(harness, target.account_id)
    yesterday = utcnow().date() - timedelta(days=1)
    assert sorted(days) == [yesterday - timedelta(days=n) for n in range(6, -1, -1)]
    assert set(days[yesterday]) == {
        "followers",
        "impressions",
        "reach",
        "profile_views",
        "engagements",
    }

    # Nothing more is due: a second run reads nothing and stores nothing twice.
    again = await collect(harness)
    assert (again.post_readings, again.account_days) == (0, 0)
    assert len(await readings(harness, target.id)) == 1

    # The worker goes away and comes back; a day later the +24 h reading is due, and taken.
    await harness.stop_worker()
    await dated(harness, target.id, timedelta(hours=25, minutes=10))
    await harness.start_worker()
    later = await collect(harness)
    assert later.post_readings == 1
    hour, day = await readings(harness, target.id)
    assert day.offset_label == "24h"
    # The sandbox's numbers grow with the post's age, as a real post's do.
    assert day.values["impressions"] >= hour.values["impressions"]


async def test_a_reading_overtaken_by_the_next_offset_is_skipped(harness: Harness) -> None:
    target = await published(harness, ago=timedelta(days=8))
    report = await collect(harness)
    assert report.post_readings == 1
    assert [r.offset_label for r in await readings(harness, target.id)] == ["7d"]


async def test_the_platforms_budget_holds_readings_for_a_later_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two calls an hour for this Page: one post reading (two calls), then nothing.
    monkeypatch.setattr(FacebookMetrics, "budget", MetricsBudget(calls=2))
    tenant = await make_tenant(harness.db)
    page = await make_account(
        harness.db, harness.settings, tenant, Platform.FACEBOOK, "200000000000007"
    )
    first = await publish_on(harness, tenant, page, ago=timedelta(hours=2))
    second = await publish_on(harness, tenant, page, ago=timedelta(hours=2))
    report = await collect(harness)
    assert report.post_readings == 1
    assert report.over_budget >= 2  # the other post, and the Page's insights
    taken = [len(await readings(harness, t.id)) for t in (first, second)]
    assert sorted(taken) == [0, 1]
    # Within the hour, the budget is still spent: the next run reads nothing either.
    assert (await collect(harness)).post_readings == 0
    calls = await harness.sandbox.get("/_control/calls", params={"path": "/insights$"})
    assert calls.json()["meta"]["count"] == 1  # the one post reading: nothing after it


async def test_an_unusually_quiet_post_is_announced(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    page = await make_account(
        harness.db, harness.settings, tenant, Platform.FACEBOOK, "200000000000009"
    )
    # Five earlier posts on the Page, long past their readings, each with 100,000 engagements
    # at 24 h.
    for n in range(5):
        earlier = await publish_on(harness, tenant, page, ago=timedelta(days=30))
        async with harness.db.session() as session:
            session.add(
                PostMetric(
                    tenant_id=tenant.tenant_id,
                    is_test=True,
                    project_id=page.project_id,
                    post_id=earlier.post_id,
                    target_id=earlier.id,
                    account_id=page.id,
                    platform=page.platform,
                    offset_label="24h",
                    values={"likes": 80_000, "comments": 15_000, "shares": 5_000},
                    collected_at=utcnow() - timedelta(days=29 - n),
                )
            )
            await session.commit()
    quiet = await publish_on(harness, tenant, page, ago=timedelta(hours=25))
    report = await collect(harness)
    assert (report.post_readings, report.anomalies) == (1, 1)
    async with harness.db.session() as session:
        [notice] = (
            await session.exec(
                select(Notification).where(
                    Notification.target_id == quiet.id, Notification.kind == "engagement_low"
                )
            )
        ).all()
        [event] = (
            await session.exec(select(Event).where(Event.type == "social.engagement_low"))
        ).all()
    assert "below 0.25 x the account's median of 100000" in notice.message
    assert event.data["target_id"] == quiet.id and event.data["median"] == 100_000
    assert event.data["project_id"] == page.project_id


def test_the_low_engagement_rule() -> None:
    assert low_engagement(10, [100] * 5, ratio=0.25, min_posts=5) == 100
    assert low_engagement(25, [100] * 5, ratio=0.25, min_posts=5) is None  # not below
    assert low_engagement(10, [100] * 4, ratio=0.25, min_posts=5) is None  # too few to judge
    assert low_engagement(0, [100] * 5, ratio=0, min_posts=5) is None  # off
    assert engagement({"likes": 3, "comments": 2, "shares": 1, "clicks": 50}) == 6


async def publish_on(
    harness: Harness, tenant: TenantFixture, account: Account, *, ago: timedelta
) -> Target:
    """A post on `account` published through the real delivery, dated `ago` in the past."""
    post, target = await make_post(harness.db, tenant, account, body=f"post {uuid.uuid4()}")
    handle = await harness.start(post, target)
    assert (await handle.result()).status == TargetStatus.PUBLISHED
    return await dated(harness, target.id, ago)


async def dated(harness: Harness, target_id: str, ago: timedelta) -> Target:
    """The target's post made `ago` old: in crier's record and at the platform alike."""
    async with harness.db.session() as session:
        row = await session.get(Target, target_id)
        assert row is not None and row.published_at is not None
        row.published_at = utcnow() - ago
        session.add(row)
        await session.commit()
        await session.refresh(row)
    aged = await harness.sandbox.post(
        f"/_control/posts/{row.external_id}/age", json={"seconds": ago.total_seconds()}
    )
    assert aged.status_code == 200, aged.text
    return row


async def test_the_api_answers_readings_and_seed_003s_insights(harness: Harness) -> None:
    target = await published(harness, ago=timedelta(minutes=70))
    await collect(harness)
    key = await add_key(harness.db, TenantFixture(target.tenant_id, "", ""))
    async with api_client(harness.settings, None) as api:
        answer = await api.get(f"/v1/posts/{target.post_id}/metrics", headers=bearer(key.api_key))
        assert answer.status_code == 200, answer.text
        [shown] = answer.json()["data"]["targets"]
        assert shown["target_id"] == target.id and shown["platform"] == "facebook"
        assert [r["offset"] for r in shown["readings"]] == ["1h"]
        assert shown["latest"] == shown["readings"][0]["values"]
        assert "saves" not in shown["offered"] and "impressions" in shown["offered"]

        url = f"/v1/accounts/{target.account_id}/insights"
        today = utcnow().date()
        week = await api.get(
            url,
            params={
                "metrics": "page_impressions,followers",
                "since": (today - timedelta(days=7)).isoformat(),
                "until": (today - timedelta(days=1)).isoformat(),
                "period": "week",
            },
            headers=bearer(key.api_key),
        )
        assert week.status_code == 200, week.text
        impressions, followers = week.json()["data"]["data"]
        assert (impressions["name"], impressions["period"]) == ("page_impressions", "week")
        days = await insight_days(harness, target.account_id)
        in_window = [d for d in days if today - timedelta(days=7) <= d < today]
        assert sum(v["value"] for v in impressions["values"]) == sum(
            days[d]["impressions"] for d in in_window
        )
        # Followers is a level: each week shows its last day's count.
        last = max(in_window)
        assert followers["values"][-1]["value"] == days[last]["followers"]
        assert followers["values"][-1]["end_time"].startswith(
            (last + timedelta(days=7 - last.weekday())).isoformat()
        )

        refused = await api.get(
            url,
            params={"metrics": "page_likes,reach", "since": "2026-12-05", "until": "2026-12-01"},
            headers=bearer(key.api_key),
        )
        assert refused.status_code == 422
        assert [d["loc"] for d in refused.json()["error"]["details"]] == [
            ["query", "metrics"],
            ["query", "until"],
        ]
        stranger = await make_tenant(harness.db)
        for path in (f"/v1/posts/{target.post_id}/metrics", url):
            assert (await api.get(path, headers=bearer(stranger.api_key))).status_code == 404


def test_sandbox_numbers_grow_with_age() -> None:
    earlier, later = post_numbers("p1", 3600), post_numbers("p1", 86400)
    assert all(later[name] >= earlier[name] for name in earlier)
    assert post_numbers("p1", 3600) == earlier  # the same age, the same numbers
    assert day_numbers("a", date(2026, 12, 1)) != day_numbers("a", date(2026, 12, 2))
