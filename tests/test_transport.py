"""The worker's transport (aiohttp under httpx) must say the same thing httpx's own would about
a failed call: only a connection that never opened sent nothing. Anything later may have
reached the platform, so the publish is reconciled before it is tried again, never simply
resent. Real sockets throughout: the sandbox, a closed port, and a server that reads the
request and hangs up without answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from providers.errors import TransientError
from providers.http import answered
from providers.transport import PlatformTransport, watch_departures
from sandbox.tokens import issue_token
from tests.support.servers import RunningSandbox, free_port
from tests.support.waiting import eventually


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=PlatformTransport(total=10, per_host=5), timeout=5
    ) as http:
        yield http


@pytest.fixture
async def hangs_up() -> AsyncIterator[str]:
    """A server that reads a whole request, then closes the connection without a word."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_a_connection_dropped_after_the_request_went_out_may_have_sent_it(
    client: httpx.AsyncClient, hangs_up: str
) -> None:
    with pytest.raises(TransientError) as raised:
        await answered("x", client.post(f"{hangs_up}/2/tweets", json={"text": "hi"}))
    assert raised.value.maybe_sent


async def test_httpx_aiohttp_alone_would_call_that_never_sent(hangs_up: str) -> None:
    """Why providers/transport.py exists: the library's own mapping reads a hang-up as a
    connect timeout, which would let a publish be resent without looking."""
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=5) as plain:
        with pytest.raises(TransientError) as raised:
            await answered("x", plain.post(f"{hangs_up}/2/tweets", json={"text": "hi"}))
    assert not raised.value.maybe_sent


async def test_a_refused_connection_sent_nothing(client: httpx.AsyncClient) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TransientError) as raised:
        await answered("x", client.post(f"{closed}/2/tweets", json={"text": "hi"}))
    assert not raised.value.maybe_sent


async def post_with_fault(
    client: httpx.AsyncClient,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
    fault: dict[str, object],
    text: str,
    read_within: float = 5,
) -> TransientError:
    """Posts to a Page's feed with `fault` injected; the error the provider layer makes of it."""
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    token = issue_token(sandbox.secret, "facebook", "555")
    with pytest.raises(TransientError) as raised:
        await answered(
            "facebook",
            client.post(
                f"{sandbox.url}/facebook/v23.0/555/feed",
                json={"message": text, "access_token": token},
                timeout=read_within,
            ),
        )
    return raised.value


async def test_an_answer_broken_midway_may_have_sent_it(
    client: httpx.AsyncClient, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    fault = {"method": "POST", "path": "/feed$", "accept_then_drop": True}
    error = await post_with_fault(client, sandbox, sandbox_http, fault, "lost answer")
    assert error.maybe_sent
    posts = (await sandbox_http.get("/_control/posts", params={"account": "555"})).json()["data"]
    assert [p["text"] for p in posts] == ["lost answer"]  # and indeed it went out


async def test_an_answer_too_slow_may_have_sent_it(
    client: httpx.AsyncClient, sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    fault = {"method": "POST", "path": "/feed$", "accept_then_stall": True, "delay": 2}
    error = await post_with_fault(client, sandbox, sandbox_http, fault, "slow", read_within=0.5)
    assert error.maybe_sent


async def test_an_ordinary_answer_comes_through_whole(
    client: httpx.AsyncClient, sandbox: RunningSandbox
) -> None:
    token = issue_token(sandbox.secret, "facebook", "555")
    created = await client.post(
        f"{sandbox.url}/facebook/v23.0/555/feed", data={"message": "hi", "access_token": token}
    )
    assert created.status_code == 200
    assert created.json()["id"].startswith("555_")


@dataclass
class SlowServer:
    url: str
    heard: list[bytes] = field(default_factory=list)  # each request's first line, as read


@pytest.fixture
async def slow_answer() -> AsyncIterator[SlowServer]:
    """A server that reads a request and answers two seconds later."""
    slow = SlowServer(url="")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        slow.heard.append(head.split(b"\r\n", 1)[0])
        await asyncio.sleep(2)  # a slow platform: the subject of these tests
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    slow.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield slow


async def test_a_call_cut_off_while_queued_for_a_connection_sent_nothing(
    slow_answer: SlowServer,
) -> None:
    """A call budget that runs out while the request still waits in crier for a connection
    (another call holds the only one): nothing left, so the try is not the platform's failure
    and its attempt is known not sent (activities/publishing._within_budget)."""
    async with httpx.AsyncClient(
        transport=PlatformTransport(total=1, per_host=1), timeout=5
    ) as http:
        holder = asyncio.create_task(http.post(f"{slow_answer.url}/first", json={}))

        async def first_heard() -> bool:
            return bool(slow_answer.heard)

        await eventually(first_heard, what="the first call to hold the only connection")
        with watch_departures() as departures, pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await http.post(f"{slow_answer.url}/second", json={})
        await holder
    assert departures.tracked and not departures.sent and departures.none_left
    assert slow_answer.heard == [b"POST /first HTTP/1.1"]  # and the server agrees


async def test_a_call_cut_off_while_awaiting_its_answer_may_have_sent(
    slow_answer: SlowServer,
) -> None:
    async with httpx.AsyncClient(
        transport=PlatformTransport(total=1, per_host=1), timeout=5
    ) as http:
        with watch_departures() as departures, pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await http.post(f"{slow_answer.url}/only", json={})
    assert departures.sent and not departures.none_left
    waited = departures.waited_on_platform()
    assert waited is not None and waited > 0


async def test_a_client_without_this_transport_never_claims_nothing_left(
    slow_answer: SlowServer,
) -> None:
    async with httpx.AsyncClient(timeout=5) as plain:
        with watch_departures() as departures, pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await plain.post(f"{slow_answer.url}/plain", json={})
    assert not departures.none_left and departures.waited_on_platform() is None
