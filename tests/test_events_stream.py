"""`GET /v1/events` over real HTTP: events arrive as Server-Sent Events, only the key's own
(tenant and mode), and a client that reconnects with Last-Event-ID misses nothing. A stream is
bounded: a revoked key's stream ends, a key holds only so many open, and a stream ends after its
maximum life saying where to resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from api.main import create_app
from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType, record_event
from core.models import ApiKey
from tests.support.api import api_client, bearer
from tests.support.events import events_of
from tests.support.factories import TenantFixture, make_tenant
from tests.support.servers import serving

Message = dict[str, str]


@asynccontextmanager
async def served(settings: Settings, **changes: object) -> AsyncIterator[str]:
    fast = settings.model_copy(
        update={"event_poll_interval": timedelta(milliseconds=50), **changes}
    )
    async with serving(create_app(fast)) as url:
        yield url


@pytest.fixture
async def base_url(settings: Settings, db: Database) -> AsyncIterator[str]:
    async with served(settings) as url:
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

    async def until_end(self, within: float = 15) -> list[Message]:
        """Every message up to the server's `stream_end`, and that the server then closed."""
        messages = [await self.next(within)]
        while messages[-1]["event"] != "stream_end":
            messages.append(await self.next(within))
        with pytest.raises(AssertionError, match="the stream ended"):
            await self.next(within)
        return messages


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

    # The stream fixes its starting point before its 200 (stream_start), and `stream` gives
    # it only after the 200: from here on, every event is after it.
    async with stream(base_url, tenant.api_key) as events:
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


async def test_a_live_keys_stream_shows_only_live_events(base_url: str, db: Database) -> None:
    live = await make_tenant(db, test=False)
    await add(db, live, EventType.POST_FAILED)  # the same tenant's sandbox event
    await add(db, live, EventType.POST_PUBLISHED, test=False)
    async with stream(base_url, live.api_key, **{"Last-Event-ID": "0"}) as events:
        only = await events.next()
        await events.nothing_for(0.5)
    assert only["event"] == "social.post_published"


async def revoke(db: Database, tenant: TenantFixture) -> None:
    async with db.session() as session:
        await session.exec(
            update(ApiKey).where(col(ApiKey.id) == tenant.api_key_id).values(revoked_at=utcnow())
        )
        await session.commit()


async def test_a_revoked_keys_open_stream_ends(settings: Settings, db: Database) -> None:
    tenant = await make_tenant(db)
    async with served(settings, stream_recheck_seconds=1) as base:
        await add(db, tenant, EventType.POST_SCHEDULED)
        async with stream(base, tenant.api_key, **{"Last-Event-ID": "0"}) as events:
            first = await events.next()
            await revoke(db, tenant)
            await add(db, tenant, EventType.POST_PUBLISHED)  # may or may not go out first
            *_, end = await events.until_end(within=5)
        assert end["event"] == "stream_end"
        assert body(end)["reason"] == "key_revoked"
        assert int(end["id"]) >= int(first["id"])
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            again = await client.get("/v1/events", headers=bearer(tenant.api_key))
        assert again.status_code == 401


async def test_one_key_holds_only_so_many_streams_and_a_closed_one_frees_its_slot(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    other = await make_tenant(db)
    async with (
        served(settings, streams_per_key=2) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
        stream(base, tenant.api_key),
    ):
        async with stream(base, tenant.api_key):
            refused = await client.get("/v1/events", headers=bearer(tenant.api_key))
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_streams"
            async with stream(base, other.api_key):  # another key's slots are its own
                pass
        # The second stream is closed: its slot comes back once the server sees it gone.
        for _ in range(100):
            async with client.stream("GET", "/v1/events", headers=bearer(tenant.api_key)) as answer:
                if answer.status_code == 200:
                    break
                assert answer.status_code == 429
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the closed stream's slot never came back")


async def test_a_stream_ends_at_its_maximum_life_and_a_resumed_one_loses_nothing(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    await add(db, tenant, EventType.ACCOUNT_CONNECTED)
    [before] = await events_of(db, tenant.tenant_id)
    async with served(settings, stream_max_life_seconds=1) as base:
        # No event during its life: it says to resume where it began.
        async with stream(base, tenant.api_key) as events:
            [end] = await events.until_end()
        assert body(end)["reason"] == "max_life"
        assert end["retry"] == "2000"
        assert end["id"] == str(before.seq)

        await add(db, tenant, EventType.POST_SCHEDULED)  # between two streams
        async with stream(base, tenant.api_key, **{"Last-Event-ID": end["id"]}) as events:
            scheduled, end = await events.until_end()
        assert scheduled["event"] == "social.post_scheduled"
        assert end["id"] == scheduled["id"]

        await add(db, tenant, EventType.POST_PUBLISHED)
        await add(db, tenant, EventType.POST_FAILED)
        async with stream(base, tenant.api_key, **{"Last-Event-ID": end["id"]}) as events:
            *resumed, end = await events.until_end()
        assert [m["event"] for m in resumed] == ["social.post_published", "social.post_failed"]
        assert body(end)["reason"] == "max_life" and end["id"] == resumed[-1]["id"]
