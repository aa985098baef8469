"""The worker's media downloads for tests: the real guarded fetcher, allowed onto loopback
(the sandbox and the tests' media hosts listen there), and a media host to fetch from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.types import Receive, Scope, Send

from core.guarded_fetch import GuardedFetcher
from providers.kit.media import MediaDownloads
from tests.support.servers import serving


def loopback_fetcher() -> GuardedFetcher:
    return GuardedFetcher(allow_private=True, user_agent="crier/0.1")


def loopback_media(*, deadline: float = 10.0, ceiling: int = 50_000_000) -> MediaDownloads:
    return MediaDownloads(loopback_fetcher(), deadline=deadline, ceiling=ceiling)


@asynccontextmanager
async def media_host(files: Mapping[str, tuple[bytes, str]]) -> AsyncIterator[str]:
    """A media host on loopback serving `files` ({path: (bytes, content type)}); its base URL."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        found = files.get(scope["path"])
        status, body, kind = (200, *found) if found else (404, b"", "text/plain")
        headers = [(b"content-type", kind.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async with serving(app, lifespan="off") as url:
        yield url
