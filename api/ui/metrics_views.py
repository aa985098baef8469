"""What the post page's Metrics section and the account page's insights show, built from the
stored readings (api/services/metrics_reads.py, the same reads the API's metrics routes make):
per metric a chart (api/ui/charts.py), its latest value and its numbers as table rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.metrics import OFFSETS
from api.deps import Caller
from api.services import metrics_reads
from api.ui.charts import bar_chart, line_chart, number
from api.ui.social_views import platform_name
from api.ui.views import PostPage
from core.models import Account, PostMetric
from core.status import Platform, TargetStatus
from providers.metrics.base import ACCOUNT_METRICS, POST_METRICS
from providers.metrics.registry import READERS

INSIGHT_DAYS = 28
# Statuses of a target that went live; a reading also proves it (it is taken only of live posts).
LIVE = frozenset({TargetStatus.PUBLISHED, TargetStatus.PARTIALLY_PUBLISHED})
TITLES = {"video_views": "Video views", "profile_views": "Profile views"}


def title_of(metric: str) -> str:
    return TITLES.get(metric, metric.replace("_", " ").capitalize())


def slot_name(offset: str) -> str:
    """ "24h" as "24 h": how the page and the chart's words name a reading's offset."""
    return f"{offset[:-1]} {offset[-1]}"


@dataclass(frozen=True)
class Chart:
    metric: str  # crier's name: impressions, likes, ...
    title: str
    svg: Markup
    latest: str  # the latest value, formatted
    heading: str  # the table's first column: "After publishing", "Day"
    rows: list[tuple[str, str]]  # the numbers the chart draws, for the table


@dataclass(frozen=True)
class TargetMetrics:
    target_id: str
    platform: str
    platform_name: str
    account_id: str
    account: str
    collects: bool  # crier has a metrics reader for this platform
    collected_at: datetime | None  # the latest reading's time
    charts: list[Chart] = field(default_factory=list)
    not_yet: list[str] = field(default_factory=list)  # offered metrics without a reading yet


def _ordered(names: set[str] | frozenset[str] | list[str], order: tuple[str, ...]) -> list[str]:
    """The platform's metrics in crier's order (impressions first), unknown names last."""
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def _target_charts(offered: list[str], readings: list[PostMetric]) -> tuple[list[Chart], list[str]]:
    by_offset = {r.offset_label: r.values for r in readings}
    charts, not_yet = [], []
    for metric in _ordered(offered, POST_METRICS):
        slots = [(slot_name(offset), _slot(by_offset, offset, metric)) for offset in OFFSETS]
        taken = [(name, value) for name, value in slots if isinstance(value, int)]
        if not taken:
            not_yet.append(title_of(metric))
            continue
        title = title_of(metric)
        charts.append(
            Chart(
                metric=metric,
                title=title,
                svg=bar_chart(f"{title} after publishing", slots),
                latest=number(taken[-1][1]),
                heading="After publishing",
                rows=[(name, number(value)) for name, value in taken],
            )
        )
    return charts, not_yet


def _slot(by_offset: dict[str, dict[str, int]], offset: str, metric: str) -> int | str:
    """A reading's value, or why there is none: the reading is not due or taken yet, or the
    platform's answer lacked the metric that time."""
    if offset not in by_offset:
        return "not yet"
    value = _count(by_offset[offset].get(metric))
    return "not read" if value is None else value


def _count(value: object) -> int | None:
    """A stored value that is a count; anything else (absent, or not a whole number) is none."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def post_metrics(
    session: AsyncSession, caller: Caller, page: PostPage
) -> list[TargetMetrics]:
    """Each live target of the post page's post, with its charts; none while nothing is live."""
    live = {p.target.id: p for p in page.previews if p.target.status in LIVE}
    found = await metrics_reads.post_readings(session=session, caller=caller, post_id=page.post.id)
    shown = []
    for target_id, platform, account_id, offered, readings in found:
        preview = live.get(target_id)
        if preview is None and not readings:
            continue
        charts, not_yet = _target_charts(offered, readings)
        shown.append(
            TargetMetrics(
                target_id=target_id,
                platform=platform,
                platform_name=platform_name(Platform(platform)),
                account_id=account_id,
                account=preview.account if preview is not None else account_id,
                collects=bool(offered),
                collected_at=readings[-1].collected_at if readings else None,
                charts=charts,
                not_yet=not_yet,
            )
        )
    return shown


@dataclass(frozen=True)
class AccountMetrics:
    first: date
    last: date
    collects: bool  # crier has an insights reader for this platform
    charts: list[Chart] = field(default_factory=list)
    not_yet: list[str] = field(default_factory=list)


async def account_metrics(
    session: AsyncSession, caller: Caller, account: Account, today: date
) -> AccountMetrics:
    """The account's daily insights for the last INSIGHT_DAYS days before `today`, a line per
    metric its platform gives."""
    reader = READERS.get(account.platform)
    offered = _ordered(reader.account_metrics, ACCOUNT_METRICS) if reader is not None else []
    last = today - timedelta(days=1)
    first = last - timedelta(days=INSIGHT_DAYS - 1)
    if not offered:
        return AccountMetrics(first=first, last=last, collects=False)
    rows, first, last = await metrics_reads.account_insights(
        session=session,
        caller=caller,
        account_id=account.id,
        metrics=",".join(offered),
        since=first,
        until=last,
        period="day",
        today=today,
    )
    charts, not_yet = [], []
    for row in rows:
        metric = str(row["name"])
        points = _days(row["values"])
        title = title_of(metric)
        if not points:
            not_yet.append(title)
            continue
        charts.append(
            Chart(
                metric=metric,
                title=title,
                svg=line_chart(title, points, first, last),
                latest=number(points[-1][1]),
                heading="Day",
                rows=[(day.isoformat(), number(value)) for day, value in points],
            )
        )
    return AccountMetrics(first=first, last=last, collects=True, charts=charts, not_yet=not_yet)


def _days(values: object) -> list[tuple[date, int]]:
    """Seed 003's daily values back as (day, value): a day's `end_time` is the next midnight."""
    points = []
    for item in values if isinstance(values, list) else []:
        value = _count(item.get("value")) if isinstance(item, dict) else None
        if value is None:
            continue
        ended = date.fromisoformat(str(item["end_time"])[:10])
        points.append((ended - timedelta(days=1), value))
    return sorted(points)
