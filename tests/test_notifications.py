"""The inbox people read (`GET /v1/notifications`): each filter, the caller's tenant and mode
only, marking read; every end that waits on a person leaves a notification and an event, the
draft outcomes included; and the migration gives old rows the mode of their post."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from activities.tenant_notices import tell_tenant
from activities.tokens import expire_account
from api.routes.notifications import KINDS
from core.config import Settings
from core.db import Database, make_sync_engine
from core.events import EventType
from core.migrate import upgrade
from core.models import Account, Event, Notification, Target
from core.status import TargetMode, TargetStatus
from providers.facebook import FacebookProvider
from tests.support.api import api_client, bearer
from tests.support.factories import (
    TenantFixture,
    add_key,
    make_facebook_page,
    make_post,
    make_tenant,
)
from tests.support.harness import Harness

pytestmark = pytest.mark.timeout(180)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, None) as client:
        yield client


async def notify(
    db: Database,
    tenant: TenantFixture,
    kind: str = "target_dead",
    *,
    minutes: int = 0,
    test: bool = True,
    post_id: str | None = None,
    read: bool = False,
) -> str:
    """One row, `minutes` after T0."""
    row = Notification(
        tenant_id=tenant.tenant_id,
        is_test=test,
        kind=kind,
        post_id=post_id,
        message=f"{kind} at +{minutes} min",
        created_at=T0 + timedelta(minutes=minutes),
        read_at=T0 + timedelta(days=1) if read else None,
    )
    async with db.session() as session:
        session.add(row)
        await session.commit()
    return row.id


async def listed(
    api: httpx.AsyncClient, tenant: TenantFixture, **params: Any
) -> tuple[list[str], dict[str, Any]]:
    """The messages listed, in order, and `meta`."""
    answer = await api.get("/v1/notifications", params=params, headers=bearer(tenant.api_key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [n["message"] for n in body["data"]], body["meta"]


async def test_the_inbox_lists_newest_first_with_each_field(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    post, target = await make_post(db, tenant, page)
    async with db.session() as session:
        session.add(
            Notification(
                tenant_id=tenant.tenant_id,
                is_test=True,
                kind="target_failed",
                post_id=post.id,
                target_id=target.id,
                message="facebook target failed: refused",
                created_at=T0,
            )
        )
        await session.commit()
    await notify(db, tenant, "token_expired", minutes=5)

    answer = await api.get("/v1/notifications", headers=bearer(tenant.api_key))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["meta"] == {"count": 2, "total": 2, "limit": 20, "offset": 0}
    newest, oldest = body["data"]
    assert newest["kind"] == "token_expired" and newest["post_id"] is None
    assert oldest == {
        "id": oldest["id"],
        "kind": "target_failed",
        "message": "facebook target failed: refused",
        "post_id": post.id,
        "target_id": target.id,
        "created_at": "2026-12-01T09:00:00Z",
        "read_at": None,
    }


async def test_each_filter(api: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    post, _ = await make_post(db, tenant, page)
    await notify(db, tenant, "target_dead", minutes=0, post_id=post.id)
    await notify(db, tenant, "target_missed", minutes=10, read=True)
    await notify(db, tenant, "token_expired", minutes=20)
    await notify(db, tenant, "target_ready_for_manual", minutes=30, read=True)

    # kind: repeated, or a comma list, or both.
    both = ["target_missed at +10 min", "target_dead at +0 min"]
    assert (await listed(api, tenant, kind=["target_dead", "target_missed"]))[0] == both
    assert (await listed(api, tenant, kind="target_missed, target_dead"))[0] == both
    assert (await listed(api, tenant, kind=["token_expired,target_dead", "target_missed"]))[0] == [
        "token_expired at +20 min",
        *both,
    ]
    # unread
    assert (await listed(api, tenant, unread="true"))[0] == [
        "token_expired at +20 min",
        "target_dead at +0 min",
    ]
    assert (await listed(api, tenant, unread="false"))[0] == [
        "target_ready_for_manual at +30 min",
        "target_missed at +10 min",
    ]
    # since (included) and until (excluded), in any offset.
    assert (
        await listed(api, tenant, since="2026-12-01T10:10:00+01:00", until="2026-12-01T09:30:00Z")
    )[0] == ["token_expired at +20 min", "target_missed at +10 min"]
    # post_id
    assert (await listed(api, tenant, post_id=post.id))[0] == ["target_dead at +0 min"]
    assert (await listed(api, tenant, post_id="no-such-post"))[0] == []
    # limit and offset: a page of the whole, with the whole counted.
    page_two, meta = await listed(api, tenant, limit=2, offset=1)
    assert page_two == ["token_expired at +20 min", "target_missed at +10 min"]
    assert meta == {"count": 2, "total": 4, "limit": 2, "offset": 1}
    # Filters combine; the total counts what they leave.
    found, meta = await listed(api, tenant, unread="true", kind="target_dead", limit=1)
    assert found == ["target_dead at +0 min"] and meta["total"] == 1


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"since": "2026-12-01T09:00:00"}, ["query", "since"]),  # no offset: refused
        ({"until": "2026-12-01T09:00:00"}, ["query", "until"]),
        ({"since": "yesterday"}, ["query", "since"]),
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, ["query", "until"]),
        ({"kind": "target_dead,target_daed"}, ["query", "kind"]),
        ({"kind": "x" * 501}, ["query", "kind"]),
        ({"unread": "maybe"}, ["query", "unread"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "101"}, ["query", "limit"]),
        ({"offset": "-1"}, ["query", "offset"]),
        ({"offset": str(2**31)}, ["query", "offset"]),
    ],
)
async def test_bad_filters_are_refused_by_name(
    api: httpx.AsyncClient, db: Database, params: dict[str, str], where: list[str]
) -> None:
    tenant = await make_tenant(db)
    answer = await api.get("/v1/notifications", params=params, headers=bearer(tenant.api_key))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert [d["loc"][:2] for d in error["details"]] == [where]


async def test_a_key_sees_and_marks_only_its_tenants_rows_in_its_mode(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    live_key = await add_key(db, tenant, test=False)
    stranger = await make_tenant(db)
    mine = await notify(db, tenant, minutes=1)
    live = await notify(db, tenant, minutes=2, test=False)
    theirs = await notify(db, stranger, minutes=3)

    assert (await listed(api, tenant))[0] == ["target_dead at +1 min"]
    assert (await listed(api, live_key))[0] == ["target_dead at +2 min"]
    assert (await listed(api, stranger))[0] == ["target_dead at +3 min"]

    key = bearer(tenant.api_key)
    for other in (live, theirs):
        one = await api.post(f"/v1/notifications/{other}/read", headers=key)
        assert one.status_code == 404, one.text
        assert one.json()["error"]["code"] == "not_found"
    several = await api.post(
        "/v1/notifications/read", json={"ids": [mine, live, theirs, "nope"]}, headers=key
    )
    assert several.status_code == 404, several.text
    error = several.json()["error"]
    assert error["code"] == "not_found"
    assert [d["loc"] for d in error["details"]] == [
        ["body", "ids", live],
        ["body", "ids", theirs],
        ["body", "ids", "nope"],
    ]
    # All or nothing: not even the caller's own one was marked.
    everything = await api.post("/v1/notifications/read", json={"all": True}, headers=key)
    assert everything.json()["data"] == {"marked": 1}
    async with db.session() as session:
        rows = {n.id: n for n in (await session.exec(select(Notification))).all()}
    assert rows[mine].read_at is not None
    assert rows[live].read_at is None and rows[theirs].read_at is None


async def test_marking_read(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    key = bearer(tenant.api_key)
    first, second, *_ = [await notify(db, tenant, minutes=m) for m in range(4)]

    one = await api.post(f"/v1/notifications/{first}/read", headers=key)
    assert one.status_code == 200, one.text
    read_at = one.json()["data"]["read_at"]
    assert read_at is not None and one.json()["data"]["id"] == first
    again = await api.post(f"/v1/notifications/{first}/read", headers=key)
    assert again.json()["data"]["read_at"] == read_at  # the first reading's time stays

    some = await api.post(
        "/v1/notifications/read", json={"ids": [first, second, second]}, headers=key
    )
    assert some.status_code == 200, some.text
    assert some.json()["data"] == {"marked": 1}  # `first` was read already
    assert (await listed(api, tenant, unread="true"))[0] == [
        "target_dead at +3 min",
        "target_dead at +2 min",
    ]
    rest = await api.post("/v1/notifications/read", json={"all": True}, headers=key)
    assert rest.json()["data"] == {"marked": 2}
    assert (await listed(api, tenant, unread="true"))[0] == []

    bad: list[dict[str, Any]] = [
        {},
        {"all": False},
        {"ids": []},
        {"ids": [first], "all": True},
        {"x": 1},
    ]
    for body in bad:
        refused = await api.post("/v1/notifications/read", json=body, headers=key)
        assert refused.status_code == 422, (body, refused.text)

    # Marking read changes the tenant's inbox for every key: a view-only key may not.
    viewer = await add_key(db, tenant, scopes=("social.view",))
    forbidden = await api.post(f"/v1/notifications/{first}/read", headers=bearer(viewer.api_key))
    assert forbidden.status_code == 403
    assert (await listed(api, viewer))[1]["total"] == 4


async def test_every_end_that_waits_on_a_person_is_in_the_inbox_and_announced(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    failing = {
        TargetStatus.FAILED: EventType.POST_FAILED,
        TargetStatus.DEAD: EventType.POST_FAILED,
        TargetStatus.MISSED: EventType.POST_FAILED,
        TargetStatus.EXPIRED: EventType.POST_FAILED,
        TargetStatus.PARTIALLY_PUBLISHED: EventType.POST_PARTIALLY_PUBLISHED,
        TargetStatus.READY_FOR_MANUAL: EventType.POST_READY_FOR_MANUAL,
    }
    targets: dict[TargetStatus, Target] = {}
    for status in failing:
        _, targets[status] = await make_post(db, tenant, page)
        async with db.session() as session:
            target = await session.get(Target, targets[status].id)
            assert target is not None
            await tell_tenant(session, target, status, f"why {status.value}")
            await session.commit()
    async with db.session() as session:
        account = await session.get(Account, page.id)
        assert account is not None
        expire_account(session, account, "the platform refused the refresh")
        await session.commit()

    answer = await api.get(
        "/v1/notifications", params={"limit": 100}, headers=bearer(tenant.api_key)
    )
    kinds = {n["kind"]: n for n in answer.json()["data"]}
    assert set(kinds) == {f"target_{s.value}" for s in failing} | {"token_expired"}
    assert set(kinds) <= KINDS
    for status, target in targets.items():
        notice = kinds[f"target_{status.value}"]
        assert (notice["target_id"], notice["post_id"]) == (target.id, target.post_id)
        assert notice["message"] == f"facebook target {status.value}: why {status.value}"
    async with db.session() as session:
        events = (await session.exec(select(Event).order_by(col(Event.seq)))).all()
    told = {e.data.get("target_id"): e for e in events if "target_id" in e.data}
    for status, target in targets.items():
        assert told[target.id].type == failing[status].value
        assert told[target.id].is_test is True
    assert "url" not in told[targets[TargetStatus.READY_FOR_MANUAL].id].data
    assert [e.type for e in events if "target_id" not in e.data] == ["social.token_expired"]


async def test_a_live_accounts_notices_are_in_the_live_inbox_only(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    live_key = await add_key(db, tenant, test=False)
    page = await make_facebook_page(db, settings, tenant, sandbox=False)
    async with db.session() as session:
        account = await session.get(Account, page.id)
        assert account is not None
        expire_account(session, account, "revoked")
        await session.commit()
    assert (await listed(api, tenant))[0] == []
    [message] = (await listed(api, live_key))[0]
    assert message.startswith("facebook account facebook 200000000000001 needs to be reconnected")


# Through the real workflow, activities and sandbox: the end a draft reaches, and one that died.


async def inbox_and_events(harness: Harness, target: Target) -> tuple[list[Any], list[Event]]:
    key = await add_key(harness.db, TenantFixture(target.tenant_id, "", ""))
    async with api_client(harness.settings, None) as api:
        answer = await api.get(
            "/v1/notifications", params={"post_id": target.post_id}, headers=bearer(key.api_key)
        )
    assert answer.status_code == 200, answer.text
    async with harness.db.session() as session:
        events = (
            await session.exec(
                select(Event).where(Event.tenant_id == target.tenant_id).order_by(col(Event.seq))
            )
        ).all()
    return answer.json()["data"], list(events)


async def test_a_draft_left_for_a_person_is_in_the_inbox_and_announced(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stands in for a platform with no drafts API, as tests/test_lifecycle_workflow.py does.
    monkeypatch.setattr(
        FacebookProvider, "rules", replace(FacebookProvider.rules, supports_drafts=False)
    )
    target, handle = await harness.schedule(after=None, mode=TargetMode.DRAFT)
    final = await handle.result()
    assert final.transitions[-1] == TargetStatus.READY_FOR_MANUAL

    [notice], events = await inbox_and_events(harness, target)

    assert notice["kind"] == "target_ready_for_manual" and notice["target_id"] == target.id
    assert "ready to be posted by hand" in notice["message"]
    [event] = [e for e in events if e.type == EventType.POST_READY_FOR_MANUAL.value]
    assert event.is_test is True
    async with harness.db.session() as session:
        page = await session.get(Account, target.account_id)
    assert page is not None
    assert event.data == {
        "post_id": target.post_id,
        "target_id": target.id,
        "account_id": target.account_id,
        "project_id": page.project_id,
        "platform": "facebook",
        "status": "ready_for_manual",
        "external_id": None,
        "published_at": None,
        "delivered_by": None,
    }
    # A retried activity (or a second look) tells nobody twice.
    assert len(await harness.notifications(target.id)) == 1


async def test_a_platform_draft_is_announced_with_its_id_and_needs_no_one(
    harness: Harness,
) -> None:
    target, handle = await harness.schedule(after=None, mode=TargetMode.DRAFT)
    final = await handle.result()
    assert final.transitions[-1] == TargetStatus.DRAFTED

    inbox, events = await inbox_and_events(harness, target)

    assert inbox == []  # saved on the platform: nothing waits on a person
    [event] = [e for e in events if e.type == EventType.POST_DRAFTED.value]
    [sent] = await harness.posts()
    assert event.data["external_id"] == sent["id"]
    assert event.data["status"] == "drafted" and event.data["delivered_by"] == "direct"
    assert event.data["published_at"] is not None


async def test_a_dead_target_is_in_the_inbox_and_announced(harness: Harness) -> None:
    await harness.inject(method="POST", path="/feed$", times=50, status=502, body={})
    target, handle = await harness.schedule(after=None)
    final = await handle.result()
    assert final.transitions[-1] == TargetStatus.DEAD

    [notice], events = await inbox_and_events(harness, target)

    assert notice["kind"] == "target_dead" and "HTTP 502" in notice["message"]
    [event] = [e for e in events if e.type == EventType.POST_FAILED.value]
    assert event.data["status"] == "dead" and event.data["target_id"] == target.id


# The migration: rows written before 0017 get the mode of their post, else live.


def _rows_before_modes(settings: Settings) -> None:
    upgrade(settings, "0016")
    now = datetime.now(UTC)
    tenant = {"id": "t1", "name": "T", "requires_approval": False, "created_at": now}
    key = {
        "id": "k1",
        "tenant_id": "t1",
        "name": "k",
        "key_hash": "h",
        "key_prefix": "p",
        "is_test": True,
        "scopes": "[]",
        "created_at": now,
    }
    posts = [
        {
            "id": pid,
            "tenant_id": "t1",
            "body": "old",
            "media_urls": "[]",
            "is_test": test,
            "created_by": "k1",
            "approval_state": "not_required",
            "created_at": now,
            "updated_at": now,
        }
        for pid, test in (("sandbox-post", True), ("live-post", False))
    ]
    notices = [
        {
            "id": nid,
            "tenant_id": "t1",
            "kind": "k",
            "post_id": post,
            "message": "m",
            "created_at": now,
        }
        for nid, post in (("n-sandbox", "sandbox-post"), ("n-live", "live-post"), ("n-none", None))
    ]
    tables: list[tuple[str, list[dict[str, Any]]]] = [
        ("tenant", [tenant]),
        ("api_key", [key]),
        ("post", posts),
        ("notification", notices),
    ]
    engine = make_sync_engine(settings)
    with engine.begin() as connection:
        for table, rows in tables:
            for row in rows:
                insert(connection, table, row)
    engine.dispose()


def insert(connection: sa.Connection, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)


def _modes_after(settings: Settings) -> dict[str, bool]:
    upgrade(settings)
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        modes = {n.id: n.is_test for n in session.exec(select(Notification)).all()}
    engine.dispose()
    return modes


def test_old_notifications_take_their_posts_mode_on_sqlite(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    _rows_before_modes(settings)
    assert _modes_after(settings) == {"n-sandbox": True, "n-live": False, "n-none": False}


def test_old_notifications_take_their_posts_mode_on_postgresql(
    postgres_database: str, tmp_path
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    _rows_before_modes(settings)
    assert _modes_after(settings) == {"n-sandbox": True, "n-live": False, "n-none": False}
