"""Reading the stored metrics back (issue 23): a post's readings per target, and an account's
daily insights summed into seed 003's periods. Nothing here calls a platform: metrics are
collected by the metrics schedule (activities/metrics.py), never fetched on demand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.post_queries import load_account, load_post, targets_of
from core.models import AccountInsight, PostMetric
from providers.metrics.base import ACCOUNT_METRICS
from providers.metrics.registry import READERS

Period = Literal["day", "week", "month"]
# Seed 003 asks Graph's names; each is read as crier's (their Graph successors are what crier
# collects: docs/platforms.md §16.1).
ALIASES = {
    "page_impressions": "impressions",
    "page_media_view": "impressions",
    "page_impressions_unique": "reach",
    "page_total_media_view_unique": "reach",
    "page_engaged_users": "engagements",
    "page_post_engagements": "engagements",
    "page_fans": "followers",
    "page_follows": "followers",
    "page_views_total": "profile_views",
}
# A count of people at a moment, not of things that happened: a period shows its last day.
LEVELS = frozenset({"followers"})
MAX_DAYS = 366


async def post_readings(
    *, session: AsyncSession, caller: Caller, post_id: str
) -> list[tuple[str, str, str, list[str], list[PostMetric]]]:
    """Per target: (target id, platform, account id, the metrics its platform gives, its
    readings oldest first)."""
    post = await load_post(session, caller, post_id)
    targets = await targets_of(session, post.id)
    rows = (
        await session.exec(
            select(PostMetric)
            .where(PostMetric.post_id == post.id)
            .order_by(col(PostMetric.collected_at))
        )
    ).all()
    readings: dict[str, list[PostMetric]] = {}
    for row in rows:
        readings.setdefault(row.target_id, []).append(row)
    return [
        (
            t.id,
            t.platform.value,
            t.account_id,
            sorted(READERS[t.platform].post_metrics) if t.platform in READERS else [],
            readings.get(t.id, []),
        )
        for t in targets
    ]


def _names(metrics: str | None) -> tuple[list[tuple[str, str]], list[str]]:
    """(asked name, crier's name) for each metric asked; and the unknown ones."""
    asked = [m.strip() for m in (metrics or "").split(",") if m.strip()] or list(ACCOUNT_METRICS)
    known, unknown = [], []
    for name in asked:
        crier = ALIASES.get(name, name)
        if crier in ACCOUNT_METRICS:
            known.append((name, crier))
        else:
            unknown.append(name)
    return known, unknown


async def account_insights(
    *,
    session: AsyncSession,
    caller: Caller,
    account_id: str,
    metrics: str | None,
    since: date | None,
    until: date | None,
    period: Period,
    today: date,
) -> tuple[list[dict[str, object]], date, date]:
    """Seed 003's rows: [{name, period, values: [{value, end_time}]}], one per metric asked,
    each value a period (day, ISO week, calendar month) that ends at `end_time`. A metric the
    platform does not give has no values."""
    account = await load_account(session, caller, account_id)
    wanted, unknown = _names(metrics)
    last = until or today - timedelta(days=1)
    first = since or last - timedelta(days=27)
    problems = [
        problem(
            ["query", "metrics"],
            f"unknown metric {name}; choose from {', '.join(ACCOUNT_METRICS)} "
            "(or Graph's page_* names)",
        )
        for name in unknown
    ]
    if first > last:
        problems.append(problem(["query", "until"], "is before `since`"))
    elif (last - first).days >= MAX_DAYS:
        problems.append(problem(["query", "since"], f"the window is at most {MAX_DAYS} days"))
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", problems
        )
    rows = (
        await session.exec(
            select(AccountInsight)
            .where(
                AccountInsight.account_id == account.id,
                col(AccountInsight.day) >= first,
                col(AccountInsight.day) <= last,
            )
            .order_by(col(AccountInsight.day))
        )
    ).all()
    return (
        [
            {"name": asked, "period": period, "values": _values(rows, crier, period)}
            for asked, crier in wanted
        ],
        first,
        last,
    )


def _values(rows: Sequence[AccountInsight], metric: str, period: Period) -> list[dict[str, object]]:
    buckets: dict[date, list[int]] = {}
    for row in rows:
        if metric in row.values:
            buckets.setdefault(_period_end(row.day, period), []).append(row.values[metric])
    return [
        {
            "value": values[-1] if metric in LEVELS else sum(values),
            # Graph's style: the moment the period ends (the next day's midnight, UTC).
            "end_time": f"{(end + timedelta(days=1)).isoformat()}T00:00:00+0000",
        }
        for end, values in sorted(buckets.items())
    ]


def _period_end(day: date, period: Period) -> date:
    if period == "day":
        return day
    if period == "week":  # ISO weeks end on Sunday
        return day + timedelta(days=6 - day.weekday())
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
