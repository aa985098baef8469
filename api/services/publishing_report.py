"""The publishing report: per group (platform, local day, project, account) how many targets
ended in each state within a window, and how late the published ones went out against the time
asked for; for a report writer (seed 000: "publish success/failure metrics to the Report Writer
data sources"). docs/api.md, "Reports", defines every rule stated here.

Counting is SQL, portable across SQLite and PostgreSQL: the local day is a CASE over the
window's local midnights (computed here with zoneinfo, so DST and half-hour zones need nothing
from the database). Percentiles are computed here over the published targets of the window,
at most LATENCY_CAP of them."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel
from sqlalchemy import Subquery, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import case, col, func
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.errors import ApiError, problem
from api.services.projects import load_project
from core.db import utcnow
from core.models import Post, Target
from core.status import TERMINAL_STATUSES, TargetStatus

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)  # a year of days, a leap year's too
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
# The published targets one report measures for its percentiles (they are held in memory).
LATENCY_CAP = 100_000

# Placed in the window by when they went out; every other end by the time it was meant for.
PLACED_BY_PUBLISHED_AT = (
    TargetStatus.PUBLISHED,
    TargetStatus.PARTIALLY_PUBLISHED,
    TargetStatus.DRAFTED,
)
# The post itself is live: its lateness is measured (a draft saved on the platform is not).
MEASURED = (TargetStatus.PUBLISHED, TargetStatus.PARTIALLY_PUBLISHED)


class Grouping(StrEnum):
    PLATFORM = "platform"
    DAY = "day"
    PROJECT = "project"
    ACCOUNT = "account"


DEFAULT_GROUP_BY = (Grouping.PLATFORM, Grouping.DAY)


def parse_group_by(text: str) -> tuple[Grouping, ...]:
    """`platform,day` → the groupings in order, each once. ValueError naming every unknown
    one, or an empty list."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {g.value for g in Grouping}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"{', '.join(repr(n) for n in unknown)}: not a grouping; "
            f"choose from {', '.join(g.value for g in Grouping)}"
        )
    if not names:
        raise ValueError(f"name at least one of {', '.join(g.value for g in Grouping)}")
    return tuple(dict.fromkeys(Grouping(name) for name in names))


def zone_named(name: str) -> ZoneInfo:
    """An IANA zone ("Europe/Paris", "UTC"). ValueError for anything else, a file path or
    the server's "localtime" included."""
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone (such as Europe/Paris or UTC)")
    return ZoneInfo(name)


@cache
def _zones() -> frozenset[str]:
    # Read from disk once. "localtime" and "posixrules" are the server's own settings, which
    # a system's zone folder may list beside the IANA names.
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


class LatencySeconds(BaseModel):
    """published_at - scheduled_for, in seconds (never below 0), nearest-rank percentiles."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float


class _Keys(BaseModel):
    # Null when the report is not grouped by it.
    platform: str | None = None
    day: date | None = None
    project_id: str | None = None
    account_id: str | None = None


class _Counts(BaseModel):
    # One per terminal state (core/status.py TERMINAL_STATUSES; a test holds them equal).
    published: int = 0
    partially_published: int = 0
    drafted: int = 0
    ready_for_manual: int = 0
    failed: int = 0
    dead: int = 0
    missed: int = 0
    expired: int = 0
    unconfirmed: int = 0
    cancelled: int = 0
    rejected: int = 0
    total: int = 0
    latency_seconds: LatencySeconds | None = None


class ReportRow(_Counts, _Keys):
    pass


class ReportTotals(_Counts):
    pass


class PublishingReport(BaseModel):
    since: datetime
    until: datetime
    timezone: str
    group_by: list[Grouping]
    project_id: str | None
    rows: list[ReportRow]
    totals: ReportTotals


Key = tuple[Any, ...]


async def publishing_report(
    *,
    session: AsyncSession,
    caller: Caller,
    since: datetime | None,
    until: datetime | None,
    group_by: Sequence[Grouping] = DEFAULT_GROUP_BY,
    zone: ZoneInfo | None = None,
    project_id: str | None = None,
) -> PublishingReport:
    """The caller's tenant and mode, within the projects its key reaches (and `project_id`,
    404 when the key does not reach it); `since` included, `until` excluded."""
    zone = zone or ZoneInfo("UTC")
    since, until = window(since=since, until=until, now=utcnow())
    if project_id is not None:
        await load_project(session=session, caller=caller, project_id=project_id)
    first_day, midnights = _local_midnights(since, until, zone)
    keys = [_key_column(g, midnights) for g in group_by]
    rows = _scope(caller, project_id, since, until, keys)
    # Core statements (a varying number of columns), run on the session's connection.
    connection = await session.connection()
    by = [rows.c[g.value] for g in group_by]
    counts = await _counts(connection, rows, by)
    measured = sum(c.get(s.value, 0) for c in counts.values() for s in MEASURED)
    if measured > LATENCY_CAP:
        raise _too_many(measured)
    lateness = await _lateness(connection, rows, by)
    report_rows = [
        ReportRow(
            **_key_fields(group_by, key, first_day),
            **_counted(counts[key], lateness.get(key, [])),
        )
        for key in sorted(counts)
    ]
    every_count: dict[str, int] = defaultdict(int)
    for by_status in counts.values():
        for status, n in by_status.items():
            every_count[status] += n
    every_lateness = [s for values in lateness.values() for s in values]
    return PublishingReport(
        since=since,
        until=until,
        timezone=zone.key,
        group_by=list(group_by),
        project_id=project_id,
        rows=report_rows,
        totals=ReportTotals(**_counted(every_count, every_lateness)),
    )


async def _counts(
    connection: AsyncConnection, rows: Subquery, by: Sequence[ColumnElement[Any]]
) -> dict[Key, dict[str, int]]:
    """Per group, how many targets ended in each state (states with none are absent)."""
    counts: dict[Key, dict[str, int]] = defaultdict(dict)
    for *key, status, n in await connection.execute(
        select(*by, rows.c.status, func.count()).group_by(*by, rows.c.status)
    ):
        counts[tuple(key)][TargetStatus(status).value] = n
    return counts


async def _lateness(
    connection: AsyncConnection, rows: Subquery, by: Sequence[ColumnElement[Any]]
) -> dict[Key, list[float]]:
    """Per group, the seconds each live post went out after its time."""
    lateness: dict[Key, list[float]] = defaultdict(list)
    for *key, published_at, scheduled_for in await connection.execute(
        select(*by, rows.c.published_at, rows.c.scheduled_for).where(
            rows.c.status.in_([s.value for s in MEASURED])
        )
    ):
        if published_at is not None and scheduled_for is not None:
            late = (published_at - scheduled_for).total_seconds()
            # A worker's clock a little ahead of the API's is not an early post.
            lateness[tuple(key)].append(max(late, 0.0))
    return lateness


def window(
    *, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The window asked for, with the defaults (until: now; since: 30 days before until).
    422 naming the problem when it is empty, reversed or longer than MAX_WINDOW."""
    problems = []
    for name, moment in (("since", since), ("until", until)):
        if moment is None:
            continue
        if moment.utcoffset() is None:
            problems.append(problem(["query", name], "a time needs an offset (such as Z)"))
        # Past these, a day's arithmetic would leave the calendar Python can count.
        elif not EARLIEST <= moment < LATEST:
            problems.append(
                problem(
                    ["query", name],
                    f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)",
                )
            )
    if problems:
        raise ApiError(
            422, "invalid_request", f"{len(problems)} problem(s) in the request", problems
        )
    end = (until if until is not None else now).astimezone(UTC)
    start = since.astimezone(UTC) if since is not None else end - DEFAULT_WINDOW
    if start >= end:
        said = "" if until is not None else " (now, when not given)"
        raise ApiError(
            422,
            "invalid_request",
            "1 problem(s) in the request",
            [problem(["query", "until"], f"must be after `since`{said}: the window is empty")],
        )
    if end - start > MAX_WINDOW:
        raise ApiError(
            422,
            "invalid_request",
            "1 problem(s) in the request",
            [
                problem(
                    ["query", "since"],
                    f"the window is {_days(end - start)} days long; at most "
                    f"{MAX_WINDOW.days} days: ask for each part in its own request",
                )
            ],
        )
    return start, end


def _days(span: timedelta) -> str:
    return f"{span / timedelta(days=1):.4g}"


def _too_many(measured: int) -> ApiError:
    where = ["query", "since"], ["query", "until"]
    return ApiError(
        422,
        "window_too_large",
        f"the window holds {measured} published targets; a report measures at most "
        f"{LATENCY_CAP}: ask for a shorter window, or one project (project_id)",
        [problem(list(loc), "narrow the window") for loc in where],
    )


def _placed_at() -> ColumnElement[datetime]:
    """The time that places a target in a window (docs/api.md, "Reports")."""
    return case(
        (
            col(Target.status).in_(PLACED_BY_PUBLISHED_AT),
            func.coalesce(Target.published_at, Target.scheduled_for, Target.updated_at),
        ),
        else_=func.coalesce(Target.scheduled_for, Target.updated_at),
    )


def _local_midnights(
    since: datetime, until: datetime, zone: ZoneInfo
) -> tuple[date, list[datetime]]:
    """The local date `since` falls on, and each later local midnight before `until` (at most
    367): day N of the window starts at the Nth of them."""
    first = since.astimezone(zone).date()
    midnights: list[datetime] = []
    day = first + timedelta(days=1)
    while (start := _start_of(day, zone)) < until:
        midnights.append(start)
        day += timedelta(days=1)
    return first, midnights


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    # Where a DST change skips midnight, fold=0 reads it with the offset before the change:
    # the instant the day actually starts.
    return datetime.combine(day, time(), tzinfo=zone)


def _key_column(grouping: Grouping, midnights: list[datetime]) -> ColumnElement[Any]:
    if grouping is Grouping.PLATFORM:
        return col(Target.platform).label(grouping.value)
    if grouping is Grouping.PROJECT:
        return col(Post.project_id).label(grouping.value)
    if grouping is Grouping.ACCOUNT:
        return col(Target.account_id).label(grouping.value)
    if not midnights:
        return literal_column("0").label(grouping.value)  # the window is within one day
    placed = _placed_at()
    # The day's number in the window: the first midnight the time is before. The numbers are
    # written into the SQL, not bound: PostgreSQL cannot type a CASE of parameters alone.
    return case(
        *((placed < midnight, literal_column(str(n))) for n, midnight in enumerate(midnights)),
        else_=literal_column(str(len(midnights))),
    ).label(grouping.value)


def _scope(
    caller: Caller,
    project_id: str | None,
    since: datetime,
    until: datetime,
    keys: list[ColumnElement[Any]],
) -> Subquery:
    """The caller's ended targets placed in the window, one row each with its group keys: a
    subquery, so the outer GROUP BY names plain columns (PostgreSQL would not match a CASE
    carrying bound parameters in the select list with the same CASE in GROUP BY)."""
    placed = _placed_at()
    query = (
        select(
            *keys,
            col(Target.status).label("status"),
            col(Target.published_at).label("published_at"),
            col(Target.scheduled_for).label("scheduled_for"),
        )
        .select_from(Target)
        .join(Post, col(Post.id) == col(Target.post_id))
        .where(
            col(Target.tenant_id) == caller.tenant_id,
            col(Post.tenant_id) == caller.tenant_id,
            col(Post.is_test) == caller.is_test,
            col(Target.status).in_(sorted(TERMINAL_STATUSES)),
            placed >= since,
            placed < until,
        )
    )
    # A deleted post's targets still count: deleting a post does not unpublish it.
    if project_id is not None:
        query = query.where(col(Post.project_id) == project_id)
    if caller.project_ids is not None:  # as api/post_queries.py within_projects narrows
        query = query.where(col(Post.project_id).in_(sorted(caller.project_ids)))
    return query.subquery()


def _key_fields(group_by: Sequence[Grouping], key: Key, first_day: date) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for grouping, value in zip(group_by, key, strict=True):
        if grouping is Grouping.PLATFORM:
            fields["platform"] = str(getattr(value, "value", value))
        elif grouping is Grouping.DAY:
            fields["day"] = first_day + timedelta(days=int(value))
        else:
            fields[f"{grouping.value}_id"] = value
    return fields


def _counted(by_status: dict[str, int], lateness: list[float]) -> dict[str, Any]:
    return {
        **by_status,
        "total": sum(by_status.values()),
        "latency_seconds": latency(lateness),
    }


def latency(seconds: list[float]) -> LatencySeconds | None:
    """Nearest-rank percentiles: each is a lateness some target really had."""
    if not seconds:
        return None
    ordered = sorted(seconds)

    def rank(p: int) -> float:
        return round(ordered[max(math.ceil(p * len(ordered) / 100), 1) - 1], 3)

    return LatencySeconds(
        count=len(ordered), p50=rank(50), p90=rank(90), p99=rank(99), max=round(ordered[-1], 3)
    )
