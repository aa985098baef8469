"""Media a provider uploads, fetched through the worker's one guarded fetcher (issue 18 item 1,
core/guarded_fetch.py): every hop checked and pinned, no cookies, identity encoding, under the
platform's own byte limit and the worker's deadline.

The media host is not the platform: its failures say nothing about the account or the token,
and nothing was sent to the platform when they happen. A host that is down, slow or
throttling is transient (`maybe_sent=False`); a URL that is refused (a private address, too
many redirects), too large, compressed against crier's ask, or answered 4xx stays so, and the
target fails with that reason. Errors name the URL's host, never an address or a body.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from core.config import Settings
from core.guarded_fetch import (
    BadStatus,
    FetchError,
    GuardedFetcher,
    TimedOut,
    Unreachable,
    url_host,
)
from providers.errors import ContentError, ProviderError, TransientError


@dataclass(frozen=True)
class Media:
    url: str
    content: bytes
    content_type: str | None  # as the host declared it, parameters dropped

    def media_type(self, default: str = "application/octet-stream") -> str:
        """The declared type, else the one the URL's suffix names, else `default`."""
        return self.content_type or mimetypes.guess_type(self.url)[0] or default


def host_in_trouble(error: FetchError) -> bool:
    """The host is down, slow or throttling: passing trouble, worth another try later."""
    return isinstance(error, Unreachable | TimedOut) or (
        isinstance(error, BadStatus) and (error.status >= 500 or error.status == 429)
    )


def media_error(error: FetchError, *, platform: str) -> ProviderError:
    if host_in_trouble(error):
        return TransientError(
            f"media download failed: {error}", platform=platform, maybe_sent=False
        )
    return ContentError(f"media unusable: {error}", platform=platform, code="media_unusable")


class MediaDownloads:
    """The worker's one fetcher, with the publish-time deadline (per file) and a ceiling on
    any file's bytes, whatever a platform would take, since the file is held in memory."""

    def __init__(self, fetcher: GuardedFetcher, *, deadline: float, ceiling: int) -> None:
        self.fetcher = fetcher
        self.deadline = deadline
        self.ceiling = ceiling

    async def fetch(self, url: str, *, platform: str, max_bytes: int | None) -> Media:
        """The whole file at `url`, at most `max_bytes` (the platform's own limit; None: the
        ceiling)."""
        limit = self.ceiling if max_bytes is None else min(max_bytes, self.ceiling)
        try:
            fetched = await self.fetcher.get(url, max_bytes=limit, deadline=self.deadline)
        except FetchError as error:
            raise media_error(error, platform=platform) from None
        if not fetched.content:
            failure = FetchError(url_host(url), "answered with an empty body")
            raise media_error(failure, platform=platform)
        return Media(url=url, content=fetched.content, content_type=fetched.content_type)


def publish_downloads(fetcher: GuardedFetcher, settings: Settings) -> MediaDownloads:
    """The worker's downloads: its one fetcher under the publish-time settings."""
    return MediaDownloads(
        fetcher,
        deadline=settings.media_publish_timeout_seconds,
        ceiling=settings.media_publish_max_bytes,
    )
