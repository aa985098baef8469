"""Dashboard events over real HTTP (issue 21 item 2): a browser page opens `/v1/events/ws`, or
`GET /v1/events`, with a single-use ticket its server asked for, from an origin its tenant
registered; a published target arrives as seed 000's `social:published {socialPostId,
platform, platformPostUrl}`. Only the ticket's tenant and mode are heard; a spent, expired or
revoked ticket, a foreign page and a ticket anywhere else are refused before anything is sent.
"""

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
from sqlmodel import col, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api import dashboard_events
from api.event_tickets import TICKET_TTL, hash_ticket
from api.main import create_app
from api.routes import events as events_route
from core.config import Settings
from core.db import Database, utcnow
from core.events import EventType, record_event
from core.models import ApiKey, EventTicket
from core.security import SCOPES
from tests.support.api import bearer
from tests.support.events import events_of
from tests.support.factories import TenantFixture, add_key, make_facebook_page, make_tenant
from tests.support.harness import Harness
from tests.support.servers import serving

pytestmark = pytest.mark.timeout(60)

PAGE = "https://dash.example"  # the dashboard's origin, registered by the tenant
Frame = dict[str, Any]


@asynccontextmanager
async def served(settings: Settings, temporal: Any = None, **changes: object) -> AsyncIterator[str]:
    fast = settings.model_copy(
        update={"event_poll_interval": timedelta(milliseconds=50), **changes}
    )
    async with serving(create_app(fast, temporal=temporal)) as url:
        yield url


@pytest.fixture
async def base_url(settings: Settings, db: Database) -> AsyncIterator[str]:
    async with served(settings) as url:
        yield url


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client


async def ticket_for(http: httpx.AsyncClient, key: str) -> str:
    answer = await http.post("/v1/events/tickets", headers=bearer(key))
    assert answer.status_code == 201, answer.text
    ticket: str = answer.json()["data"]["ticket"]
    return ticket


async def register(http: httpx.AsyncClient, key: str, origin: str = PAGE) -> None:
    answer = await http.post(
        "/v1/oauth/return-origins", json={"origin": origin}, headers=bearer(key)
    )
    assert answer.status_code in (200, 201), answer.text


def ws_url(base: str, ticket: str | None, **query: str) -> str:
    params = httpx.QueryParams({**({"ticket": ticket} if ticket is not None else {}), **query})
    return f"{base.replace('http://', 'ws://', 1)}/v1/events/ws?{params}"


class Socket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def frame(self, within: float = 10) -> Frame:
        """The next frame, heartbeats included."""
        parsed: Frame = json.loads(await asyncio.wait_for(self.connection.recv(), within))
        return parsed

    async def event(self, within: float = 10) -> Frame:
        """The next frame that is not a heartbeat."""
        while (frame := await self.frame(within))["event"] == dashboard_events.HEARTBEAT:
            pass
        return frame


@asynccontextmanager
async def socket(
    base: str, ticket: str | None, origin: str | None = PAGE, **query: str
) -> AsyncIterator[Socket]:
    """An open socket, once its first heartbeat arrived (so its starting point is fixed)."""
    async with connect(
        ws_url(base, ticket, **query),
        origin=origin,  # type: ignore[arg-type]
        proxy=None,
        open_timeout=10,
        close_timeout=5,
    ) as connection:
        opened = Socket(connection)
        first = await opened.frame()
        assert first["event"] == dashboard_events.HEARTBEAT, first
        yield opened


async def refused(base: str, ticket: str | None, origin: str | None = PAGE, **query: str) -> Any:
    """The handshake's answer when the socket is refused: its status and error body."""
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            ws_url(base, ticket, **query),
            origin=origin,  # type: ignore[arg-type]
            proxy=None,
            open_timeout=10,
        ):
            raise AssertionError("the socket was accepted")
    response = caught.value.response
    return response.status_code, json.loads(response.body or b"{}").get("error", {})


async def add(db: Database, tenant: TenantFixture, kind: EventType, *, test: bool = True) -> None:
    async with db.session() as session:
        record_event(
            session, tenant_id=tenant.tenant_id, is_test=test, type=kind, data={"k": kind.value}
        )
        await session.commit()


async def set_key(db: Database, key: TenantFixture, **values: object) -> None:
    async with db.session() as session:
        await session.exec(update(ApiKey).where(col(ApiKey.id) == key.api_key_id).values(**values))
        await session.commit()


def test_every_event_type_has_a_socket_name_and_data_reads_as_the_seed_says() -> None:
    names = dashboard_events.SOCKET_NAMES
    assert {t.value for t in EventType} <= set(names), "a type the socket's table lacks"
    assert len(set(names.values())) == len(names)
    assert all(dashboard_events.by_pattern(crier) == name for crier, name in names.items())
    assert names["social.post_published"] == "social:published"
    assert names["social.post_failed"] == "social:failed"
    assert dashboard_events.socket_name("social.post_archived") == "social:archived"
    data = {
        "post_id": "p",
        "target_id": "t",
        "platform": "x",
        "url": "https://x.com/i/1",
        "external_id": "1",
        "parts": [{"index": 1, "external_id": "2", "url": None}],
    }
    assert dashboard_events.camel_keys(data) == {
        "socialPostId": "p",
        "targetId": "t",
        "platform": "x",
        "platformPostUrl": "https://x.com/i/1",
        "platformPostId": "1",
        "parts": [{"index": 1, "platformPostId": "2", "platformPostUrl": None}],
    }


@pytest.mark.timeout(180)
async def test_a_published_target_reaches_the_dashboard_as_social_published(
    harness: Harness,
) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_facebook_page(harness.db, harness.settings, tenant)
    async with (
        served(harness.settings, harness.env.client) as base,
        httpx.AsyncClient(base_url=base, timeout=30, headers=bearer(tenant.api_key)) as api,
    ):
        await register(api, tenant.api_key)
        ticket = await ticket_for(api, tenant.api_key)
        async with socket(base, ticket) as dashboard:
            created = await api.post(
                "/v1/posts",
                json={"body": "Launch day", "targets": [{"account_id": account.id}]},
            )
            assert created.status_code == 201, created.text
            post = created.json()["data"]
            started = await api.post(f"/v1/posts/{post['id']}/publish", json={})
            [target] = started.json()["data"]["targets"]
            assert (await harness.result(target["workflow_id"])).status == "published"
            published = await dashboard.event(within=30)
        live = (await api.get(f"/v1/posts/{post['id']}")).json()["data"]["targets"][0]

    assert published["event"] == "social:published"
    assert published["type"] == "social.post_published"
    assert published["eventId"].startswith("evt_") and isinstance(published["id"], int)
    data = published["data"]
    assert data["socialPostId"] == post["id"]
    assert data["targetId"] == target["id"]
    assert data["platform"] == "facebook"
    assert data["platformPostUrl"] == live["url"] and data["platformPostUrl"]
    assert data["platformPostId"] == live["external_id"]
    assert data["status"] == "published" and data["accountId"] == account.id


async def test_a_ticket_opens_one_stream_within_its_minute_while_its_key_may_listen(
    http: httpx.AsyncClient, base_url: str, db: Database
) -> None:
    tenant = await make_tenant(db)
    asked = await http.post("/v1/events/tickets", headers=bearer(tenant.api_key))
    assert asked.status_code == 201, asked.text
    ticket = asked.json()["data"]["ticket"]
    assert ticket.startswith("evtk_") and len(ticket) > 40
    async with db.session() as session:
        [row] = (
            await session.exec(
                select(EventTicket).where(EventTicket.api_key_id == tenant.api_key_id)
            )
        ).all()
    # Only the hash is kept, and the ticket lives a minute.
    assert row.token_hash == hash_ticket(ticket) and ticket not in row.model_dump_json()
    assert abs((row.expires_at - row.created_at) - TICKET_TTL) < timedelta(seconds=1)

    async with socket(base_url, ticket, origin=None):
        pass
    status, error = await refused(base_url, ticket, origin=None)  # spent
    assert (status, error["code"]) == (401, "unauthenticated")
    assert await refused(base_url, "evtk_" + "x" * 43, origin=None) == (401, error)
    assert (await refused(base_url, None, origin=None))[0] == 401  # no ticket at all

    expired = await ticket_for(http, tenant.api_key)
    async with db.session() as session:
        await session.exec(
            update(EventTicket)
            .where(col(EventTicket.token_hash) == hash_ticket(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (await refused(base_url, expired, origin=None))[0] == 401

    # The key loses social.view, then is revoked, after asking: its tickets are worthless.
    unscoped = await ticket_for(http, tenant.api_key)
    await set_key(db, tenant, scopes=[s for s in SCOPES if s != "social.view"])
    status, error = await refused(base_url, unscoped, origin=None)
    assert (status, error["code"]) == (403, "forbidden")
    await set_key(db, tenant, scopes=list(SCOPES))
    revoked = await ticket_for(http, tenant.api_key)
    await set_key(db, tenant, revoked_at=utcnow())
    assert (await refused(base_url, revoked, origin=None))[0] == 401

    # Asking needs social.view; asking again clears the key's expired tickets.
    viewer_less = await make_tenant(db, scopes=("social.manage",))
    no = await http.post("/v1/events/tickets", headers=bearer(viewer_less.api_key))
    assert no.status_code == 403
    other = await add_key(db, tenant)
    await ticket_for(http, other.api_key)
    async with db.session() as session:
        await session.exec(
            update(EventTicket)
            .where(col(EventTicket.api_key_id) == other.api_key_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    await ticket_for(http, other.api_key)
    async with db.session() as session:
        kept = (
            await session.exec(
                select(EventTicket).where(EventTicket.api_key_id == other.api_key_id)
            )
        ).all()
    assert len(kept) == 1


async def test_two_sockets_racing_with_one_ticket_open_one(
    http: httpx.AsyncClient, base_url: str, db: Database
) -> None:
    tenant = await make_tenant(db)
    ticket = await ticket_for(http, tenant.api_key)

    async def open_one() -> int:
        try:
            async with socket(base_url, ticket, origin=None):
                return 101
        except InvalidStatus as refusal:
            return refusal.response.status_code

    assert sorted(await asyncio.gather(*(open_one() for _ in range(4)))) == [101, 401, 401, 401]


async def test_a_tickets_socket_hears_only_its_tenant_and_mode_and_resumes_after_an_id(
    http: httpx.AsyncClient, base_url: str, db: Database
) -> None:
    tenant = await make_tenant(db)
    stranger = await make_tenant(db)
    live = await add_key(db, tenant, test=False)
    await register(http, tenant.api_key)
    await register(http, live.api_key)

    async with socket(base_url, await ticket_for(http, tenant.api_key)) as dashboard:
        # Ordered by number: were any of these heard, it would come before the tenant's own.
        await add(db, stranger, EventType.POST_PUBLISHED)
        await add(db, tenant, EventType.POST_PUBLISHED, test=False)
        await add(db, tenant, EventType.POST_SCHEDULED)
        first = await dashboard.event()
        await add(db, stranger, EventType.POST_FAILED)
        await add(db, tenant, EventType.POST_FAILED, test=False)
        await add(db, tenant, EventType.POST_FAILED)
        second = await dashboard.event()
    assert [first["event"], second["event"]] == ["social:scheduled", "social:failed"]
    assert first["data"] == {"k": "social.post_scheduled"}
    assert second["id"] > first["id"]

    # Gone a while; resuming after `first` gets everything since, in order.
    await add(db, tenant, EventType.TOKEN_EXPIRED)
    ticket = await ticket_for(http, tenant.api_key)
    async with socket(base_url, ticket, after=str(first["id"])) as dashboard:
        resumed = [await dashboard.event() for _ in range(2)]
    assert [f["event"] for f in resumed] == ["social:failed", "social:token_expired"]
    assert resumed[0]["id"] == second["id"]

    # Filtered by type, from the start.
    ticket = await ticket_for(http, tenant.api_key)
    async with socket(base_url, ticket, after="0", types="social.token_expired") as dashboard:
        only = await dashboard.event()
    assert only["type"] == "social.token_expired"

    # Every event of the tenant's live mode reaches a live key's socket, none of the sandbox's.
    ticket = await ticket_for(http, live.api_key)
    async with socket(base_url, ticket, after="0") as dashboard:
        heard = [await dashboard.event() for _ in range(2)]
    assert [f["event"] for f in heard] == ["social:published", "social:failed"]
    ours = {e.seq for e in await events_of(db, tenant.tenant_id) if not e.is_test}
    assert {f["id"] for f in heard} == ours


async def test_a_page_on_another_origin_is_refused_and_a_server_needs_none(
    http: httpx.AsyncClient, base_url: str, db: Database
) -> None:
    tenant = await make_tenant(db)
    other = await make_tenant(db)
    live = await add_key(db, tenant, test=False)
    await register(http, other.api_key, "https://evil.example")  # another tenant's page
    await register(http, live.api_key, "https://live.example")  # the other mode's page
    await register(http, tenant.api_key)
    for origin in (
        "https://evil.example",
        "https://live.example",
        "https://dash.example.evil.com",
        "null",
    ):
        status, error = await refused(base_url, await ticket_for(http, tenant.api_key), origin)
        assert (status, error["code"]) == (403, "browser_origin_refused"), origin
    # The same origin, spelled as a browser might not: normalised as when it was registered.
    async with socket(base_url, await ticket_for(http, tenant.api_key), "https://DASH.example:443"):
        pass
    # A server sends no Origin: the ticket alone is enough.
    async with socket(base_url, await ticket_for(http, tenant.api_key), origin=None):
        pass
    # A browser's socket without a ticket is refused as any browser request is.
    status, error = await refused(base_url, None)
    assert (status, error["code"]) == (403, "browser_origin_refused")
    # A bad query is refused before the socket opens.
    status, error = await refused(base_url, await ticket_for(http, tenant.api_key), after="-1")
    assert (status, error["details"][0]["loc"]) == (422, ["query", "after"])


async def test_a_ticket_is_no_pass_anywhere_else(
    http: httpx.AsyncClient, base_url: str, db: Database
) -> None:
    """The guard's door is the two event routes: a ticket elsewhere, or on a preflight, is not
    looked at (nor spent), and the browser is refused as before."""
    tenant = await make_tenant(db)
    await register(http, tenant.api_key)
    ticket = await ticket_for(http, tenant.api_key)
    browser = {"Origin": PAGE, **bearer(tenant.api_key)}
    for method, path in (
        ("GET", "/v1/posts"),
        ("POST", "/v1/events/tickets"),
        ("OPTIONS", "/v1/events"),
        ("GET", "/v1/events/ws"),  # the socket's path over plain HTTP
    ):
        answer = await http.request(method, path, params={"ticket": ticket}, headers=browser)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "browser_origin_refused"
    async with socket(base_url, ticket):  # still unspent
        pass


@asynccontextmanager
async def sse(
    http: httpx.AsyncClient, ticket: str, **headers: str
) -> AsyncIterator[tuple[httpx.Response, AsyncIterator[str]]]:
    async with http.stream("GET", "/v1/events", params={"ticket": ticket}, headers=headers) as r:
        yield r, r.aiter_lines()


async def next_sse_event(lines: AsyncIterator[str], within: float = 10) -> dict[str, str]:
    async def read() -> dict[str, str]:
        message: dict[str, str] = {}
        async for line in lines:
            if not line:
                if "event" in message:
                    return message
                message = {}
                continue
            name, _, value = line.partition(":")
            if name:
                message[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), within)


async def test_the_sse_stream_takes_a_ticket_in_place_of_the_key(
    http: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    await register(http, tenant.api_key)
    browser = {
        "Origin": PAGE,
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "cors",
        "Accept": "text/event-stream",
    }
    ticket = await ticket_for(http, tenant.api_key)
    async with sse(http, ticket, **browser) as (answer, lines):
        assert answer.status_code == 200, await answer.aread()
        # EventSource reads a cross-origin stream only when the answer names its page.
        assert answer.headers["access-control-allow-origin"] == PAGE
        assert "Origin" in answer.headers["vary"]
        await add(db, tenant, EventType.POST_PUBLISHED)
        message = await next_sse_event(lines)
    assert message["event"] == "social.post_published"
    assert json.loads(message["data"])["data"] == {"k": "social.post_published"}

    again = await http.get("/v1/events", params={"ticket": ticket}, headers=browser)
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthenticated"
    foreign = await http.get(
        "/v1/events",
        params={"ticket": await ticket_for(http, tenant.api_key)},
        headers={**browser, "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "browser_origin_refused"
    assert "access-control-allow-origin" not in foreign.headers
    # A server may use a ticket too (no Origin: no CORS header), and a browser may not use the
    # key itself (tests/test_browser_origins.py walks that for every route).
    async with sse(http, await ticket_for(http, tenant.api_key)) as (answer, _):
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers
    keyed = await http.get("/v1/events", headers={**browser, **bearer(tenant.api_key)})
    assert keyed.status_code == 403


async def test_a_socket_is_bounded_as_a_stream_is(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heartbeats while quiet; the key's stream slots shared with SSE; an end at the maximum
    life saying where to resume; and an end when the key is revoked."""
    monkeypatch.setattr(events_route, "HEARTBEAT_SECONDS", 0.2)
    tenant = await make_tenant(db)
    await add(db, tenant, EventType.ACCOUNT_CONNECTED)
    [before] = await events_of(db, tenant.tenant_id)
    async with (
        served(settings, streams_per_key=1, stream_max_life_seconds=2) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        socket(base, await ticket_for(http, tenant.api_key), origin=None) as dashboard,
    ):
        beats = [await dashboard.frame(), await dashboard.frame()]
        assert [b["event"] for b in beats] == ["heartbeat", "heartbeat"]
        assert {b["id"] for b in beats} == {before.seq}  # where to resume
        status, error = await refused(base, await ticket_for(http, tenant.api_key), None)
        assert (status, error["code"]) == (429, "too_many_streams")
        keyed = await http.get("/v1/events", headers=bearer(tenant.api_key))
        assert keyed.status_code == 429  # one count for both kinds
        while (end := await dashboard.frame())["event"] != "stream_end":
            pass
        assert end["data"]["reason"] == "max_life" and end["id"] == before.seq
        with pytest.raises(ConnectionClosed) as closed:
            await dashboard.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    async with (
        served(settings, stream_recheck_seconds=0.2) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        socket(base, await ticket_for(http, tenant.api_key), origin=None) as dashboard,
    ):
        await set_key(db, tenant, revoked_at=utcnow())
        while (end := await dashboard.frame())["event"] != "stream_end":
            pass
        assert end["data"]["reason"] == "key_revoked"
        with pytest.raises(ConnectionClosed) as closed:
            await dashboard.frame()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
