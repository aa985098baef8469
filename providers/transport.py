"""The worker's HTTP transport: aiohttp's connection handling under httpx's API.

Every provider speaks httpx; only the layer that moves the bytes changes. At a burst's instant a
worker sends hundreds of requests at once, and httpx's own pool (httpcore over anyio) spent
about 3 ms of CPU on each of 100 concurrent posts to the sandbox, most of it rescanning its
connection list, where aiohttp's spent about 0.6 ms (bench/README.md). The worker has one
event loop, so that CPU is lateness.

httpx-aiohttp maps aiohttp's errors to httpx's, but it reports a connection the server dropped
(or reset) after the request went out as `ConnectTimeout`, which providers/http.py must read as
"never sent": a publish would then be tried again without looking first, and could post twice.
Here only a failure to connect stays a connect error; any other connection failure is a
`RemoteProtocolError`, which may have reached the platform.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

# aiohttp errors that mean the request never left: no connection was made.
NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


@dataclass
class Departures:
    """What the requests made under `watch_departures()` did: `tracked` once this transport
    saw one begin, `sent` once one's headers went out. Tracked but never sent: each of them
    was still waiting inside crier (for a connection, say), and the platform saw nothing."""

    tracked: bool = False
    sent: bool = False
    first_sent_at: float | None = None  # the event loop's clock

    @property
    def none_left(self) -> bool:
        # A client without this transport tells nothing: then a request may have left.
        return self.tracked and not self.sent

    def waited_on_platform(self) -> float | None:
        """Seconds since the first request left (None: the transport did not see one)."""
        if self.first_sent_at is None:
            return None
        return asyncio.get_running_loop().time() - self.first_sent_at


_departures: ContextVar[Departures | None] = ContextVar("crier_departures", default=None)


@contextmanager
def watch_departures() -> Iterator[Departures]:
    departures = Departures()
    token = _departures.set(departures)
    try:
        yield departures
    finally:
        _departures.reset(token)


async def _request_started(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    if (departures := _departures.get()) is not None:
        departures.tracked = True


async def _headers_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    if (departures := _departures.get()) is not None:
        if not departures.sent:
            departures.first_sent_at = asyncio.get_running_loop().time()
        departures.sent = True


def _tracing() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_request_started)
    config.on_request_headers_sent.append(_headers_sent)
    return config


def _honest(error: httpx.ConnectTimeout, request: httpx.Request) -> httpx.TransportError:
    if isinstance(error.__cause__, NOT_CONNECTED):
        return error
    return httpx.RemoteProtocolError(f"connection lost after sending: {error}", request=request)


class _HonestStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.ConnectTimeout as error:
            raise _honest(error, self._request) from error.__cause__

    async def aclose(self) -> None:
        await self._inner.aclose()


class PlatformTransport(AiohttpTransport):
    """`per_host` connections to each platform: more only adds work for both ends (a burst
    of 100 to the sandbox landed sooner over 20 connections than over 100)."""

    def __init__(self, *, total: int, per_host: int) -> None:
        context = httpx.create_ssl_context()  # the same trust store httpx itself would use
        super().__init__(client=lambda: self._session(context, total, per_host))

    @staticmethod
    def _session(context: ssl.SSLContext, total: int, per_host: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=total, limit_per_host=per_host),
            # One session serves every tenant: a cookie a platform or host set during one
            # tenant's call must never ride on another's (security review S17).
            cookie_jar=aiohttp.DummyCookieJar(),
            # Whether a request left, for a call that ran out of time (watch_departures).
            trace_configs=[_tracing()],
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            raise _honest(error, request) from error.__cause__
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _HonestStream(response.stream, request)
        return response
