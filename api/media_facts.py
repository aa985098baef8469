"""What each media URL turns out to be: fetched once, so the platforms' rules can be checked.

The URLs come from callers, so the bytes are hostile until proven otherwise (issue 18):

- every fetch goes through the one guarded fetcher (core/guarded_fetch.py): pinned public
  addresses, a byte cap, a total deadline, no cookies;
- one tenant has at most `media_fetches_per_tenant` fetches (and their decodes) running at once
  in this process, so its twenty slow URLs cannot take every connection;
- an image is opened only as a format the platforms take, its size judged from its header
  before anything is decoded, and decoded in a small fixed pool of threads, so neither a
  decompression bomb nor many images at once can take the process's memory.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from io import BytesIO

import httpx
from PIL import Image

from core.config import Settings
from core.guarded_fetch import (
    Blocked,
    FetchError,
    GuardedFetcher,
    TimedOut,
    TooLarge,
    TooManyRedirects,
)
from core.media_fetch import VIDEO_SUFFIXES, bytes_fingerprint, is_video, video_fingerprint

__all__ = ["IMAGE_FORMATS", "VIDEO_SUFFIXES", "MediaChecker", "MediaFacts"]

# What the platforms take between them (X, Bluesky and Pinterest take WebP; Instagram, Facebook
# and Google Business narrow it further in their own rules). Pillow is never asked to try its
# other decoders (TIFF, PSD, ICO, EPS...) on a caller's bytes.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
FORMATS_SHOWN = "JPEG, PNG, GIF or WebP"


@dataclass(frozen=True)
class MediaFacts:
    kind: str  # "image" or "video"
    size: int | None  # bytes; None for a video whose server did not say
    content_type: str | None
    format: str | None = None  # Pillow's name, images only: "JPEG", "PNG", "GIF", "WEBP"
    width: int | None = None
    height: int | None = None
    # What the bytes were when checked (core/media_fetch.py); None: the server said nothing.
    fingerprint: str | None = None


def shown(url: str) -> str:
    """The URL as an answer names it: without any user name or password it carried."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return url
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def _size_limit(max_bytes: int) -> str:
    if max_bytes >= 1_000_000:
        return f"{max_bytes / 1_000_000:g} MB"
    return f"{max_bytes:,} bytes"


def _image_facts(data: bytes, content_type: str | None, max_pixels: int) -> MediaFacts | str:
    """Runs in the decode pool. Returns the facts, or what is wrong with the image."""
    try:
        with Image.open(BytesIO(data), formats=IMAGE_FORMATS) as image:
            found, width, height = image.format, image.width, image.height
            # The header is enough to judge the size: a bomb is refused before its pixels
            # are ever inflated.
            pixels = width * height
            if pixels > max_pixels:
                size = f"{width}\u00d7{height} is {pixels:,} pixels"
                return f"{size}, more than {max_pixels:,}; not decoded"
            try:
                # Headers alone can look right on a truncated or corrupt file; decoding proves
                # it. At most max_pixels x 4 bytes, and only `media_decode_workers` at once.
                image.load()
            except Exception:  # Pillow raises many types for bytes it cannot decode
                return f"a damaged {found} image: it cannot be decoded"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (above ~89 million pixels), raised by Image.open itself.
        return f"more than {max_pixels:,} pixels; not decoded"
    except Exception:  # UnidentifiedImageError, and whatever a bad header makes a plugin raise
        return f"not a {FORMATS_SHOWN} image"
    return MediaFacts(
        kind="image",
        size=len(data),
        content_type=content_type,
        format=found,
        width=width,
        height=height,
        fingerprint=bytes_fingerprint(data),
    )


def _fetch_problem(error: FetchError, max_bytes: int, deadline: float) -> str:
    """What went wrong, in the host's words (never an address it resolved to, nor a body)."""
    if isinstance(error, TooLarge):
        return f"larger than {_size_limit(max_bytes)}"
    if isinstance(error, TimedOut):
        return f"timed out after {deadline:g} s"
    if isinstance(error, TooManyRedirects):
        return f"refused: {error.reason}"
    if isinstance(error, Blocked):
        return f"refused: {error.reason} (media must be on a public address)"
    return f"could not be fetched: {error.reason}"


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    users: int = 0


@dataclass
class TenantSlots:
    """At most `per_tenant` holders at once for each tenant; an idle tenant's entry is dropped,
    so the table holds only tenants with a fetch in flight."""

    per_tenant: int
    _slots: dict[str, _Slots] = field(default_factory=dict)

    @asynccontextmanager
    async def slot(self, tenant_id: str) -> AsyncIterator[None]:
        slots = self._slots.setdefault(tenant_id, _Slots(asyncio.Semaphore(self.per_tenant)))
        slots.users += 1
        try:
            async with slots.semaphore:
                yield
        finally:
            slots.users -= 1
            if not slots.users:
                del self._slots[tenant_id]


class MediaChecker:
    """One per API process: the fetcher, each tenant's fetch slots and the decode pool."""

    def __init__(self, fetcher: GuardedFetcher, settings: Settings) -> None:
        self._fetcher = fetcher
        self._max_bytes = settings.media_fetch_max_bytes
        self._deadline = settings.media_fetch_timeout_seconds
        # Pillow warns (and then raises) above its own limit; a warning would let the decode
        # go on, so it is an error here. Our own limit is never above Pillow's, so the header
        # check below always speaks first and the warning is only a second guard.
        self._max_pixels = min(settings.media_max_pixels, Image.MAX_IMAGE_PIXELS or 2**62)
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
        self._tenants = TenantSlots(settings.media_fetches_per_tenant)
        self._decoder = ThreadPoolExecutor(
            max_workers=settings.media_decode_workers, thread_name_prefix="crier-image"
        )

    def close(self) -> None:
        self._decoder.shutdown(wait=False, cancel_futures=True)

    async def read(self, tenant_id: str, urls: Sequence[str]) -> dict[str, MediaFacts | str]:
        """Each distinct URL's facts, or what went wrong fetching or reading it (naming the
        URL). Each URL has its own deadline, so one slow URL names itself and the others'
        facts are kept."""
        distinct = list(dict.fromkeys(urls))
        found = await asyncio.gather(*(self._read_one(tenant_id, url) for url in distinct))
        return dict(zip(distinct, found, strict=True))

    async def _read_one(self, tenant_id: str, url: str) -> MediaFacts | str:
        # The decode is inside the tenant's slot too: bytes waiting for a decoder are memory
        # the tenant holds, and the slot bounds it.
        async with self._tenants.slot(tenant_id):
            try:
                fetched = await self._fetch(url)
            except FetchError as error:
                return f"{shown(url)}: {_fetch_problem(error, self._max_bytes, self._deadline)}"
            if isinstance(fetched, MediaFacts):
                return fetched
            data, content_type = fetched
            loop = asyncio.get_running_loop()
            facts = await loop.run_in_executor(
                self._decoder, _image_facts, data, content_type, self._max_pixels
            )
        return facts if isinstance(facts, MediaFacts) else f"{shown(url)}: {facts}"

    async def _fetch(self, url: str) -> MediaFacts | tuple[bytes, str | None]:
        async with self._fetcher.open(
            url, max_bytes=self._max_bytes, deadline=self._deadline
        ) as opened:
            opened.raise_for_status()
            if is_video(url, opened.content_type):
                # Reels run to 1 GB: a video's size comes from its headers, its bytes stay
                # there.
                return MediaFacts(
                    kind="video",
                    size=opened.declared_length,
                    content_type=opened.content_type,
                    fingerprint=video_fingerprint(opened.headers),
                )
            return await opened.read(), opened.content_type
