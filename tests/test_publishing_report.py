"""GET /v1/reports/publishing over ASGI on a real database (SQLite, and PostgreSQL in its run):
a known set of ended targets, written as the workflows leave them, read back per platform,
day, project and account; windows, local days across DST, latency percentiles, refusals, and
the tenant, mode and project walls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.main import create_app
from api.services import publishing_report as service
from core.config import Settings
from core.db import Database
from core.models import Account, Post, Project, Target
from core.status import TERMINAL_STATUSES, Platform, TargetStatus
from tests.support.api import bearer
from tests.support.api_fixtures import tenant_fixture
from tests.support.factories import TenantFixture, add_key, make_account, make_tenant

pytestmark = pytest.mark.asyncio

PATH = "/v1/reports/publishing"
tenant = tenant_fixture()


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API over ASGI. No Temporal: a report reads the database only."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
        ) as client,
    ):
        yield client


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, *, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Ended:
    """A target as a workflow leaves it (with its own post)."""

    account: Account
    status: TargetStatus
    scheduled_for: datetime | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    live: bool = False  # a live post (sandbox posts otherwise)
    deleted: bool = False


async def write(db: Database, tenant: TenantFixture, *rows: Ended) -> None:
    async with db.session() as session:
        for row in rows:
            post = Post(
                tenant_id=tenant.tenant_id,
                project_id=row.account.project_id,
                body="Report me",
                is_test=not row.live,
                created_by=tenant.api_key_id,
                status=row.status.value,
                deleted_at=at(28) if row.deleted else None,
            )
            session.add(post)
            await session.flush()
            session.add(
                Target(
                    post_id=post.id,
                    tenant_id=tenant.tenant_id,
                    account_id=row.account.id,
                    platform=row.account.platform,
                    status=row.status,
                    scheduled_for=row.scheduled_for,
                    published_at=row.published_at,
                    updated_at=row.updated_at or at(28),  # after every window asked for
                )
            )
        await session.commit()


async def report(api: httpx.AsyncClient, key: str, **query: str) -> tuple[int, dict[str, Any]]:
    answer = await api.get(PATH, params=query, headers=bearer(key))
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


async def ok(api: httpx.AsyncClient, key: str, **query: str) -> dict[str, Any]:
    status, body = await report(api, key, **query)
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


def counts(row: dict[str, Any]) -> dict[str, int]:
    """A row's non-zero counts, total included."""
    return {k: v for k, v in row.items() if isinstance(v, int) and v}


def keys(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[name] for name in names)


MARCH_10_11 = {"since": "2026-03-10T00:00:00Z", "until": "2026-03-12T00:00:00Z"}


@pytest.fixture
async def fb(db: Database, settings: Settings, tenant: TenantFixture) -> Account:
    return await make_account(db, settings, tenant, Platform.FACEBOOK, "100")


@pytest.fixture
async def x(db: Database, settings: Settings, tenant: TenantFixture) -> Account:
    return await make_account(db, settings, tenant, Platform.X, "200")


async def test_counts_and_latency_by_platform_and_day(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, fb: Account, x: Account
) -> None:
    await write(
        db,
        tenant,
        Ended(fb, TargetStatus.PUBLISHED, at(10, 9), at(10, 9, 0, 30)),  # 30 s late
        Ended(fb, TargetStatus.PUBLISHED, at(10, 10), at(10, 10, 2)),  # 120 s late
        Ended(fb, TargetStatus.PUBLISHED, at(11, 8), at(11, 8, 0, 10)),  # 10 s late
        Ended(fb, TargetStatus.FAILED, at(10, 12)),
        Ended(x, TargetStatus.DEAD, at(10, 13)),
        Ended(x, TargetStatus.MISSED, at(11, 7)),
        Ended(x, TargetStatus.CANCELLED, None, updated_at=at(11, 9)),  # never had a time
        Ended(fb, TargetStatus.SCHEDULED, at(10, 14)),  # not ended: not counted
        Ended(fb, TargetStatus.PUBLISHED, at(11, 23), at(20)),  # went out after the window
    )
    data = await ok(api, tenant.api_key, **MARCH_10_11)
    assert data["group_by"] == ["platform", "day"]
    assert data["timezone"] == "UTC"
    assert (data["since"], data["until"]) == ("2026-03-10T00:00:00Z", "2026-03-12T00:00:00Z")
    rows = data["rows"]
    assert [keys(r, "platform", "day") for r in rows] == [
        ("facebook", "2026-03-10"),
        ("facebook", "2026-03-11"),
        ("x", "2026-03-10"),
        ("x", "2026-03-11"),
    ]
    # Keys the report is not grouped by are there, and null.
    assert {(r["project_id"], r["account_id"]) for r in rows} == {(None, None)}
    assert [counts(r) for r in rows] == [
        {"published": 2, "failed": 1, "total": 3},
        {"published": 1, "total": 1},
        {"dead": 1, "total": 1},
        {"missed": 1, "cancelled": 1, "total": 2},
    ]
    assert rows[0]["latency_seconds"] == {
        "count": 2,
        "p50": 30.0,
        "p90": 120.0,
        "p99": 120.0,
        "max": 120.0,
    }
    assert rows[1]["latency_seconds"]["p50"] == 10.0
    assert rows[2]["latency_seconds"] is None  # nothing published: nothing to measure
    totals = data["totals"]
    assert counts(totals) == {
        "published": 3,
        "failed": 1,
        "dead": 1,
        "missed": 1,
        "cancelled": 1,
        "total": 7,
    }
    assert totals["latency_seconds"] == {
        "count": 3,
        "p50": 30.0,
        "p90": 120.0,
        "p99": 120.0,
        "max": 120.0,
    }


async def test_every_end_has_its_own_count() -> None:
    """A new terminal state must get a column: the report would drop it silently."""
    fields = set(service.ReportTotals.model_fields) - {"total", "latency_seconds"}
    assert fields == {s.value for s in TERMINAL_STATUSES}


async def test_which_time_places_a_target_in_the_window(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, fb: Account
) -> None:
    await write(
        db,
        tenant,
        # Published: by published_at, since included and until excluded.
        Ended(fb, TargetStatus.PUBLISHED, at(9, 23), at(10)),  # asked for before, out in it
        Ended(fb, TargetStatus.PUBLISHED, at(11, 23), at(12)),  # out at `until`: not in
        Ended(fb, TargetStatus.DRAFTED, at(11), at(11, 0, 5)),  # a platform draft: as published
        # Every other end: by scheduled_for, however late it was written.
        Ended(fb, TargetStatus.DEAD, at(11, 23, 59), updated_at=at(12, 3)),
        Ended(fb, TargetStatus.FAILED, at(9, 23, 59), updated_at=at(10, 1)),  # not in
        # No time (a draft cancelled, say): by when it last changed.
        Ended(fb, TargetStatus.CANCELLED, None, updated_at=at(10, 6)),
        Ended(fb, TargetStatus.REJECTED, None, updated_at=at(12)),  # not in
    )
    paris = {"since": "2026-03-10T01:00:00+01:00", "until": "2026-03-12T00:00:00Z"}
    data = await ok(api, tenant.api_key, group_by="platform", **paris)
    assert data["since"] == "2026-03-10T00:00:00Z"  # the same instant, in UTC
    assert [counts(r) for r in data["rows"]] == [
        {"published": 1, "drafted": 1, "dead": 1, "cancelled": 1, "total": 4}
    ]
    assert data["rows"][0]["day"] is None
    # 23 h late, and the draft not measured: it is not a publish.
    assert data["totals"]["latency_seconds"]["count"] == 1
    assert data["totals"]["latency_seconds"]["max"] == 3600.0


async def test_days_are_the_zone_s_calendar_days(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, fb: Account
) -> None:
    await write(
        db,
        tenant,
        # New York leaves EST (-5) for EDT (-4) at 2026-03-08 02:00 local.
        Ended(fb, TargetStatus.FAILED, at(8, 4, 30)),  # 7 March 23:30 EST
        Ended(fb, TargetStatus.FAILED, at(8, 5, 30)),  # 8 March 00:30 EST
        Ended(fb, TargetStatus.FAILED, at(9, 3, 30)),  # 8 March 23:30 EDT
        Ended(fb, TargetStatus.FAILED, at(9, 4, 30)),  # 9 March 00:30 EDT
        # Kolkata is +5:30 all year.
        Ended(fb, TargetStatus.DEAD, at(10, 18, 29)),  # 10 March 23:59 IST
        Ended(fb, TargetStatus.DEAD, at(10, 18, 31)),  # 11 March 00:01 IST
    )
    window = {"since": "2026-03-07T12:00:00Z", "until": "2026-03-11T00:00:00Z"}
    new_york = await ok(api, tenant.api_key, timezone="America/New_York", **window)
    assert new_york["timezone"] == "America/New_York"
    assert [(r["day"], r["failed"], r["dead"]) for r in new_york["rows"]] == [
        ("2026-03-07", 1, 0),
        ("2026-03-08", 2, 0),
        ("2026-03-09", 1, 0),
        ("2026-03-10", 0, 2),
    ]
    kolkata = await ok(api, tenant.api_key, timezone="Asia/Kolkata", group_by="day", **window)
    assert [(r["day"], r["total"]) for r in kolkata["rows"]] == [
        ("2026-03-08", 2),
        ("2026-03-09", 2),
        ("2026-03-10", 1),
        ("2026-03-11", 1),  # 18:31 UTC on the 10th
    ]
    utc = await ok(api, tenant.api_key, group_by="day", **window)
    assert [(r["day"], r["total"]) for r in utc["rows"]] == [
        ("2026-03-08", 2),
        ("2026-03-09", 2),
        ("2026-03-10", 2),
    ]
    # A window within one day is one day.
    short = {"since": "2026-03-10T18:00:00Z", "until": "2026-03-10T19:00:00Z"}
    one = await ok(api, tenant.api_key, group_by="day", **short)
    assert [(r["day"], r["dead"]) for r in one["rows"]] == [("2026-03-10", 2)]


async def test_latency_percentiles_are_nearest_rank(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, fb: Account, x: Account
) -> None:
    # 20 published targets 0..19 s late; the first went out 5 s before its time (counted 0).
    late = [-5, *range(1, 20)]
    await write(
        db,
        tenant,
        *(
            Ended(fb, TargetStatus.PUBLISHED, at(10, 9), at(10, 9) + timedelta(seconds=s))
            for s in late
        ),
        # The post is live, a part after it is not: its lateness counts too.
        Ended(x, TargetStatus.PARTIALLY_PUBLISHED, at(10, 9), at(10, 9, 1, 40)),
    )
    data = await ok(api, tenant.api_key, group_by="platform", **MARCH_10_11)
    by_platform = {r["platform"]: r["latency_seconds"] for r in data["rows"]}
    assert by_platform["facebook"] == {
        "count": 20,
        "p50": 9.0,  # the 10th of 20
        "p90": 17.0,  # the 18th
        "p99": 19.0,  # the 20th
        "max": 19.0,
    }
    assert by_platform["x"] == {"count": 1, "p50": 100.0, "p90": 100.0, "p99": 100.0, "max": 100.0}
    assert data["totals"]["latency_seconds"]["count"] == 21


async def test_group_by_project_and_account_in_the_order_asked(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    fb: Account,
    x: Account,
) -> None:
    brand = await _project(db, tenant, "Brand")
    li = await make_account(db, settings, tenant, Platform.LINKEDIN, "300", project_id=brand.id)
    await write(
        db,
        tenant,
        Ended(fb, TargetStatus.PUBLISHED, at(10, 9), at(10, 9)),
        Ended(x, TargetStatus.FAILED, at(10, 9)),
        Ended(li, TargetStatus.PUBLISHED, at(10, 9), at(10, 9)),
        Ended(li, TargetStatus.PUBLISHED, at(11, 9), at(11, 9)),
    )
    by_project = await ok(api, tenant.api_key, group_by="project", **MARCH_10_11)
    totals = {r["project_id"]: r["total"] for r in by_project["rows"]}
    assert totals == {fb.project_id: 2, brand.id: 2}
    # Repeats are dropped; the rows keep the order asked for.
    data = await ok(api, tenant.api_key, group_by="account, platform,account", **MARCH_10_11)
    assert data["group_by"] == ["account", "platform"]
    rows = [(r["account_id"], r["platform"], r["total"]) for r in data["rows"]]
    assert rows == sorted([(fb.id, "facebook", 1), (x.id, "x", 1), (li.id, "linkedin", 2)])
    everything = await ok(
        api, tenant.api_key, group_by="project,account,platform,day", **MARCH_10_11
    )
    assert len(everything["rows"]) == 4
    assert counts(everything["totals"]) == {"published": 3, "failed": 1, "total": 4}


async def test_the_window_defaults_to_the_last_30_days(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, fb: Account
) -> None:
    now = datetime.now(UTC)
    await write(
        db,
        tenant,
        Ended(fb, TargetStatus.PUBLISHED, now - timedelta(days=1), now - timedelta(days=1)),
        Ended(fb, TargetStatus.PUBLISHED, now - timedelta(days=40), now - timedelta(days=40)),
    )
    data = await ok(api, tenant.api_key)
    since = datetime.fromisoformat(data["since"])
    until = datetime.fromisoformat(data["until"])
    assert until - since == timedelta(days=30)
    assert abs(until - now) < timedelta(minutes=5)
    assert data["totals"]["published"] == 1
    # `until` alone: the 30 days before it.
    older = await ok(api, tenant.api_key, until=(now - timedelta(days=35)).isoformat())
    assert older["totals"]["published"] == 1


async def test_bad_queries_are_422s_naming_every_problem(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    status, body = await report(
        api,
        tenant.api_key,
        since="2026-03-10T00:00:00",  # no offset
        until="tomorrow",
        group_by="platform,week,hour",
        timezone="Mars/Olympus",
    )
    assert status == 422
    problems = {tuple(d["loc"]): d["msg"] for d in body["error"]["details"]}
    assert set(problems) == {
        ("query", "since"),
        ("query", "until"),
        ("query", "group_by"),
        ("query", "timezone"),
    }
    assert "timezone" in problems[("query", "since")].lower()
    assert "'week', 'hour'" in problems[("query", "group_by")]
    assert "platform, day, project, account" in problems[("query", "group_by")]
    assert "Mars/Olympus" in problems[("query", "timezone")]

    for query, where, words in (
        ({"group_by": " , "}, "group_by", "at least one"),
        ({"timezone": "localtime"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
        (
            {"since": "2026-03-12T00:00:00Z", "until": "2026-03-10T00:00:00+01:00"},
            "until",
            "after `since`",
        ),
        ({"since": "2026-03-12T00:00:00Z", "until": "2026-03-12T00:00:00Z"}, "until", "empty"),
        ({"since": "2099-01-01T00:00:00Z"}, "until", "now, when not given"),
        ({"since": "2025-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "since", "366"),
    ):
        status, body = await report(api, tenant.api_key, **query)
        assert status == 422, (query, body)
        [detail] = body["error"]["details"]
        assert detail["loc"] == ["query", where], (query, detail)
        assert words in detail["msg"], (query, detail)
    # Times a day's arithmetic could not count from: refused, both named.
    status, body = await report(
        api,
        tenant.api_key,
        since="0001-01-01T00:00:00+05:00",
        until="9999-12-31T23:00:00-05:00",
    )
    assert status == 422, body
    assert [d["loc"] for d in body["error"]["details"]] == [["query", "since"], ["query", "until"]]
    assert "1970-01-01" in body["error"]["details"][0]["msg"]
    # A leap year's whole year fits.
    year = {"since": "2024-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}
    assert (await report(api, tenant.api_key, **year))[0] == 200


async def test_a_window_with_more_published_targets_than_the_cap_is_refused(
    api: httpx.AsyncClient,
    db: Database,
    tenant: TenantFixture,
    fb: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cap is 100 000 rows; writing that many would take the test's whole budget.
    monkeypatch.setattr(service, "LATENCY_CAP", 2)
    await write(
        db,
        tenant,
        *(Ended(fb, TargetStatus.PUBLISHED, at(10, h), at(10, h)) for h in (1, 2, 3)),
    )
    status, body = await report(api, tenant.api_key, **MARCH_10_11)
    assert status == 422
    assert body["error"]["code"] == "window_too_large"
    assert "3 published targets" in body["error"]["message"]
    assert {tuple(d["loc"]) for d in body["error"]["details"]} == {
        ("query", "since"),
        ("query", "until"),
    }
    narrower = {"since": "2026-03-10T00:00:00Z", "until": "2026-03-10T02:30:00Z"}
    assert (await ok(api, tenant.api_key, **narrower))["totals"]["published"] == 2


async def test_only_the_keys_tenant_mode_and_projects(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    fb: Account,
) -> None:
    brand = await _project(db, tenant, "Brand")
    li = await make_account(db, settings, tenant, Platform.LINKEDIN, "300", project_id=brand.id)
    live_fb = await make_account(db, settings, tenant, Platform.FACEBOOK, "100", sandbox=False)
    stranger = await make_tenant(db)
    stranger_fb = await make_account(db, settings, stranger, Platform.FACEBOOK, "100")
    await write(
        db,
        tenant,
        Ended(fb, TargetStatus.PUBLISHED, at(10, 9), at(10, 9)),
        Ended(li, TargetStatus.FAILED, at(10, 9)),
        Ended(li, TargetStatus.DEAD, at(10, 9), deleted=True),  # deleted posts still count
        Ended(live_fb, TargetStatus.MISSED, at(10, 9), live=True),
    )
    await write(db, stranger, Ended(stranger_fb, TargetStatus.PUBLISHED, at(10, 9), at(10, 9)))

    def seen(data: dict[str, Any]) -> dict[str, int]:
        return counts(data["totals"])

    sandbox = await ok(api, tenant.api_key, **MARCH_10_11)
    assert seen(sandbox) == {"published": 1, "failed": 1, "dead": 1, "total": 3}
    live = await add_key(db, tenant, test=False)
    assert seen(await ok(api, live.api_key, **MARCH_10_11)) == {"missed": 1, "total": 1}
    assert seen(await ok(api, stranger.api_key, **MARCH_10_11)) == {"published": 1, "total": 1}

    # One project, by filter, or by a key limited to it.
    only_brand = await ok(api, tenant.api_key, project_id=brand.id, **MARCH_10_11)
    assert only_brand["project_id"] == brand.id
    assert seen(only_brand) == {"failed": 1, "dead": 1, "total": 2}
    limited = await add_key(db, tenant, project_ids=(brand.id,))
    assert seen(await ok(api, limited.api_key, **MARCH_10_11)) == {
        "failed": 1,
        "dead": 1,
        "total": 2,
    }
    # A project the key does not reach is not found, as another tenant's would be.
    for key, project_id in (
        (limited.api_key, fb.project_id),
        (stranger.api_key, brand.id),
        (live.api_key, brand.id),  # the sandbox's project, asked by a live key
        (tenant.api_key, "no-such-project"),
    ):
        status, body = await report(api, key, project_id=project_id, **MARCH_10_11)
        assert status == 404, body
        assert project_id in body["error"]["message"]


async def test_the_report_needs_social_view(api: httpx.AsyncClient, db: Database) -> None:
    writer = await make_tenant(db, scopes=("social.manage",))
    status, body = await report(api, writer.api_key)
    assert status == 403
    assert "social.view" in body["error"]["message"]
    viewer = await make_tenant(db, scopes=("social.view",))
    data = await ok(api, viewer.api_key)
    assert data["rows"] == [] and data["totals"]["total"] == 0
    assert data["totals"]["latency_seconds"] is None
    assert (await api.get(PATH)).status_code == 401


async def _project(db: Database, tenant: TenantFixture, name: str) -> Project:
    project = Project(tenant_id=tenant.tenant_id, is_test=True, name=name)
    async with db.session() as session:
        session.add(project)
        await session.commit()
    return project
