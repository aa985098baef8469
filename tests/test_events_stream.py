"""`GET /v1/events` over real HTTP: events arrive as Server-Sent Events, only the key's own
(tenant and mode), and a client that reconnects with Last-Event-ID misses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.main import create_app
from core.config import Settings
from core.db import Database
from core.events import EventType, record_event
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, make_tenant
from tests.support.servers import serving

Message = dict[str, str]


@pytest.fixture
async def base_url(settings: Settings, db: Database) -> AsyncIterator[str]:
    fast = settings.model_copy(update={"event_poll_interval": timedelta(milliseconds=50)})
    async with serving(create_app(fast)) as url:
        yield url


async def add(db: Database, tenant: TenantFixture, kind: EventType, *, test: bool = True) -> None:
    async with db.session() as session:
        record_event(
            session, tenant_id=tenant.tenant_id, is_test=test, type=kind, data={"k": kind.value}
        )
        await session.commit()


class Stream:
    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next(self, within: float = 10) -> Message:
        """The next message with an `event` (comments and the `retry` hint are skipped)."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> Message:
        message: Message = {}
        async for line in self._lines:
            if not line:
                if "event" in message:
                    return message
                message = {}
                continue
            field, _, value = line.partition(":")
            if field:
                message[field] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    async def nothing_for(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self._next(), seconds)


@asynccontextmanager
async def stream(base: str, key: str, **headers: str) -> AsyncIterator[Stream]:
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        client.stream("GET", "/v1/events", headers={**bearer(key), **headers}) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response.aiter_lines())


def body(message: Message) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(message["data"])
    return parsed


async def test_events_stream_live_and_resume_after_the_last_one_seen(
    base_url: str, db: Database
) -> None:
    tenant = await make_tenant(db)
    stranger = await make_tenant(db)
    await add(db, tenant, EventType.ACCOUNT_CONNECTED)  # before connecting: not replayed

    async with stream(base_url, tenant.api_key) as events:
        await asyncio.sleep(0.2)  # connected and past its starting point
        await add(db, stranger, EventType.POST_PUBLISHED)  # another tenant's
        await add(db, tenant, EventType.POST_PUBLISHED, test=False)  # a live key's
        await add(db, tenant, EventType.POST_SCHEDULED)
        await add(db, tenant, EventType.POST_PUBLISHED)
        first = await events.next()
        second = await events.next()
        await events.nothing_for(0.5)

    assert [first["event"], second["event"]] == ["social.post_scheduled", "social.post_published"]
    assert int(second["id"]) > int(first["id"])
    assert set(body(first)) == {"id", "type", "created_at", "data"}
    assert body(first)["type"] == "social.post_scheduled"
    assert body(first)["id"].startswith("evt_")

    # Disconnected, two more happen; reconnecting after `first` gets the rest, in order.
    await add(db, tenant, EventType.POST_FAILED)
    await add(db, tenant, EventType.TOKEN_EXPIRED)
    async with stream(base_url, tenant.api_key, **{"Last-Event-ID": first["id"]}) as events:
        resumed = [await events.next() for _ in range(3)]
        await events.nothing_for(0.3)
    assert [m["event"] for m in resumed] == [
        "social.post_published",
        "social.post_failed",
        "social.token_expired",
    ]
    assert resumed[0]["data"] == second["data"]


async def test_events_stream_filters_by_type(base_url: str, db: Database) -> None:
    tenant = await make_tenant(db)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        client.stream(
            "GET",
            "/v1/events",
            params={"types": ["social.post_failed"], "after": "0"},
            headers=bearer(tenant.api_key),
        ) as response,
    ):
        events = Stream(response.aiter_lines())
        await add(db, tenant, EventType.POST_PUBLISHED)
        await add(db, tenant, EventType.POST_FAILED)
        only = await events.next()
        assert only["event"] == "social.post_failed"
        await events.nothing_for(0.3)


async def test_events_stream_refuses_a_bad_resume_point_before_streaming(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    async with api_client(settings, None) as api:
        refused = await api.get(
            "/v1/events", headers={**bearer(tenant.api_key), "Last-Event-ID": "evt_nope"}
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["loc"] == ["header", "Last-Event-ID"]
        assert (await api.get("/v1/events")).status_code == 401
