"""The one door through which crier opens a URL a tenant chose (issue 18, DESIGN.md "Foreign
bytes go through one door"): media at create time, media at publish time in every provider and
aggregator, webhook deliveries.

Every hop is resolved, checked and pinned: the request goes to the very address that was
checked (the URL's host kept in the Host header and as the TLS server name), so a name that
resolves to a public address when checked and to 127.0.0.1 a moment later (DNS rebinding)
cannot slip through, and each redirect is checked the same way. Outside development, private,
loopback, link-local, CGNAT, NAT64, 6to4 and Teredo destinations are refused.

Bodies are streamed under a byte cap and a total deadline (httpx's timeouts are per read, so a
server trickling a byte at a time would never trip them), with `Accept-Encoding: identity`: a
compressed body crier did not ask for is refused unread, so a gzip bomb is never inflated.
No cookie is ever kept, so no tenant's host sees what another's set. Connections are not kept
alive either: the pool is keyed by address, and two hosts behind one address must not share a
TLS connection made for the other's name.

Errors name the URL's host and what went wrong, never an address it resolved to or a body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from core.config import Settings
from core.destinations import (
    Unresolvable,
    denied,
    resolve,
    url_problems,
)

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 3
USER_AGENT = "crier-fetch/1"


class FetchError(Exception):
    """A fetch that did not give a usable answer. `str()` names the host and the reason only."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class Blocked(FetchError):
    """The URL (or a redirect) is not a public http(s) destination."""


class TooManyRedirects(Blocked):
    """More redirects than the fetcher follows."""


class TooLarge(FetchError):
    """The body is larger than the cap."""


class TimedOut(FetchError):
    """The whole fetch took longer than its deadline."""


class Unreachable(FetchError):
    """No answer: the name did not resolve, or the connection failed or dropped."""


class BadStatus(FetchError):
    """The server answered with a status that is not a success."""

    def __init__(self, host: str, status: int) -> None:
        super().__init__(host, f"HTTP {status}")
        self.status = status


class Encoded(FetchError):
    """A compressed body crier asked not to be sent (`Accept-Encoding: identity`)."""


@dataclass(frozen=True)
class Fetched:
    """A whole body, read under its cap."""

    url: str  # the URL asked for (not the last redirect's)
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def content_type(self) -> str | None:
        return _content_type(self.headers)


class Opened:
    """An answer whose body has not been read yet: its headers, and the body under the cap."""

    def __init__(self, response: httpx.Response, host: str, max_bytes: int) -> None:
        self._response = response
        self._host = host
        self._max_bytes = max_bytes
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    @property
    def content_type(self) -> str | None:
        return _content_type(self.headers)

    def raise_for_status(self) -> None:
        """BadStatus naming the host, unless the answer is a success."""
        if not 200 <= self.status < 300:
            raise BadStatus(self._host, self.status)

    @property
    def declared_length(self) -> int | None:
        declared = self.headers.get("content-length", "")
        return int(declared) if declared.isdigit() else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, raising TooLarge as soon as it passes the cap."""
        declared = self.declared_length
        if declared is not None and declared > self._max_bytes:
            raise TooLarge(self._host, f"larger than {self._max_bytes:,} bytes")
        size = 0
        try:
            async for chunk in self._response.aiter_raw():
                size += len(chunk)
                if size > self._max_bytes:
                    raise TooLarge(self._host, f"larger than {self._max_bytes:,} bytes")
                yield chunk
        except httpx.TransportError as error:
            failure = f"the connection failed: {type(error).__name__}"
            raise Unreachable(self._host, failure) from None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def read_at_most(self, limit: int) -> bytes:
        """The first `limit` bytes of the body; the rest is never read."""
        kept = bytearray()
        try:
            async for chunk in self._response.aiter_raw():
                kept += chunk[: limit - len(kept)]
                if len(kept) >= limit:
                    break
        except httpx.TransportError:
            pass  # what came is what there is: the answer's status already said enough
        return bytes(kept)


class GuardedFetcher:
    """One per process. `allow_private` only in development (the sandbox is on loopback)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        user_agent: str = USER_AGENT,
        max_connections: int = 100,
        max_redirects: int = MAX_REDIRECTS,
        public_for_tests: frozenset[str] = frozenset(),
    ) -> None:
        self.allow_private = allow_private
        self._max_redirects = max_redirects
        # TEST SEAM (tests/test_guarded_fetch.py only; no setting or caller passes it): resolved
        # addresses treated as public, so a first hop on loopback can stand for a public host
        # while the refusals (a redirect to 169.254.169.254, ...) are tested in production mode.
        self._public_for_tests = public_for_tests
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # each hop is checked and pinned here
            trust_env=False,  # no proxy credentials or .netrc from the environment
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
            timeout=httpx.Timeout(30.0, connect=10.0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, max_bytes: int, deadline: float) -> Fetched:
        """The whole body of a successful GET, under `max_bytes` and `deadline` seconds."""
        async with self.open(url, max_bytes=max_bytes, deadline=deadline) as opened:
            opened.raise_for_status()
            content = await opened.read()
        return Fetched(url=url, status=opened.status, headers=opened.headers, content=content)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str],
        deadline: float,
        read_at_most: int = 2048,
    ) -> tuple[int, bytes]:
        """POST without following redirects (a receiver names its real URL); the status and
        at most `read_at_most` bytes of the answer, which is then closed unread."""
        async with self._opened("POST", url, None, deadline, content, headers) as opened:
            return opened.status, await opened.read_at_most(read_at_most)

    @asynccontextmanager
    async def open(self, url: str, *, max_bytes: int, deadline: float) -> AsyncIterator[Opened]:
        """A GET's answer, body unread (a video's headers are enough at the check). The
        deadline covers the whole block, body included."""
        async with self._opened("GET", url, max_bytes, deadline, None, {}) as opened:
            yield opened

    @asynccontextmanager
    async def _opened(
        self,
        method: str,
        url: str,
        max_bytes: int | None,
        deadline: float,
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> AsyncIterator[Opened]:
        host = url_host(url)
        try:
            async with asyncio.timeout(deadline):
                response = await self._follow(method, url, content, headers)
                try:
                    encoding = response.headers.get("content-encoding", "identity").lower()
                    if encoding not in ("identity", ""):
                        raise Encoded(host, f"sent a {encoding} body; crier asks for identity")
                    yield Opened(response, host, max_bytes if max_bytes is not None else 0)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise TimedOut(host, f"no whole answer within {deadline:g} s") from None

    async def _follow(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        current = url
        for _ in range(self._max_redirects + 1):
            response = await self._send(method, current, content, headers)
            location = response.headers.get("location")
            if method != "GET" or response.status_code not in REDIRECTS or not location:
                return response
            await response.aclose()
            current = str(httpx.URL(current).join(location))
        raise TooManyRedirects(url_host(url), f"more than {self._max_redirects} redirects")

    async def _send(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        host = url_host(url)
        problems = url_problems(url, allow_private=self.allow_private)
        if problems:
            raise Blocked(host, "; ".join(problems))
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = await resolve(parsed.host, port, allow_private=True)
        except Unresolvable:
            raise Unreachable(host, "the name does not resolve") from None
        if not self.allow_private and any(
            denied(address) and str(address) not in self._public_for_tests for address in addresses
        ):
            raise Blocked(host, "resolves to a private, loopback or link-local address")
        host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        request = self._client.build_request(
            method,
            parsed.copy_with(host=str(addresses[0])),
            content=content,
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": parsed.host} if parsed.scheme == "https" else {},
        )
        try:
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise Unreachable(host, "no answer in time") from None
        except httpx.TransportError as error:
            raise Unreachable(host, f"the connection failed: {type(error).__name__}") from None


def _content_type(headers: Mapping[str, str]) -> str | None:
    value = headers.get("content-type", "").split(";")[0].strip().lower()
    return value or None


def url_host(url: str) -> str:
    """How errors name a URL: its host only (never a path, which may carry a token)."""
    try:
        return httpx.URL(url).host or "the URL"
    except (httpx.InvalidURL, TypeError):
        return "the URL"


def media_fetcher(settings: Settings, *, user_agent: str = USER_AGENT) -> GuardedFetcher:
    """The fetcher for media URLs, in the API and in the worker alike."""
    return GuardedFetcher(allow_private=settings.media_may_reach_private, user_agent=user_agent)
