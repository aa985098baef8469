"""What each media URL turns out to be: fetched once, so the platforms' rules can be checked.

The URLs come from callers, so every fetch is bounded in bytes and time, and carries no
cookies or credentials of ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

import httpx
from PIL import Image

from core.media_fetch import (
    VIDEO_SUFFIXES,
    PrivateAddressError,
    bytes_fingerprint,
    is_video,
    media_client,
    video_fingerprint,
)

__all__ = ["VIDEO_SUFFIXES", "MediaFacts", "media_client", "read_media_facts"]


@dataclass(frozen=True)
class MediaFacts:
    kind: str  # "image" or "video"
    size: int | None  # bytes; None for a video whose server did not say
    content_type: str | None
    format: str | None = None  # Pillow's name, images only: "JPEG", "PNG", "GIF"
    width: int | None = None
    height: int | None = None
    # What the bytes were when checked (core/media_fetch.py); None: the server said nothing.
    fingerprint: str | None = None


def _size_limit(max_bytes: int) -> str:
    if max_bytes >= 1_000_000:
        return f"{max_bytes / 1_000_000:g} MB"
    return f"{max_bytes:,} bytes"


def _image_facts(data: bytes, content_type: str | None) -> MediaFacts | str:
    try:
        with Image.open(BytesIO(data)) as image:
            found, width, height = image.format, image.width, image.height
            # Headers alone can look right on a truncated or corrupt file; decoding proves it.
            image.load()
    except Exception:  # Pillow raises many types for bytes it cannot read
        return "not an image Pillow can read"
    return MediaFacts(
        kind="image",
        size=len(data),
        content_type=content_type,
        format=found,
        width=width,
        height=height,
        fingerprint=bytes_fingerprint(data),
    )


async def _fetch(http: httpx.AsyncClient, url: str, max_bytes: int) -> MediaFacts | str:
    too_big = f"larger than {_size_limit(max_bytes)}"
    async with http.stream("GET", url) as response:
        if response.status_code >= 400:
            return f"could not be fetched: HTTP {response.status_code}"
        declared = response.headers.get("content-length")
        video = is_video(url, response.headers.get("content-type"))
        if not video and declared and declared.isdigit() and int(declared) > max_bytes:
            return too_big
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        if video:
            # Reels run to 1 GB: a video's size comes from its headers, its bytes stay there.
            size = int(declared) if declared and declared.isdigit() else None
            return MediaFacts(
                kind="video",
                size=size,
                content_type=content_type,
                fingerprint=video_fingerprint(response.headers),
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                return too_big
            chunks.append(chunk)
    # Decoding a large image takes long enough to stall every other request.
    return await asyncio.to_thread(_image_facts, b"".join(chunks), content_type)


async def _read_one(
    http: httpx.AsyncClient,
    url: str,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 - a per-URL budget, so one slow URL names itself
) -> MediaFacts | str:
    try:
        # httpx's timeout is per read; a server trickling bytes would never trip it.
        async with asyncio.timeout(timeout):
            return await _fetch(http, url, max_bytes)
    except (TimeoutError, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    except PrivateAddressError as exc:
        return f"refused: {exc} (media must be on a public address)"
    except httpx.HTTPError as exc:
        return f"could not be fetched: {str(exc) or type(exc).__name__}"


async def read_media_facts(
    http: httpx.AsyncClient,
    urls: Sequence[str],
    *,
    max_bytes: int,
    # Each URL gets its own budget: a caller's asyncio.timeout around the whole call would
    # lose the facts of the URLs that did answer.
    timeout: float,  # noqa: ASYNC109
) -> dict[str, MediaFacts | str]:
    """Each distinct URL's facts, or what went wrong fetching or reading it."""
    distinct = list(dict.fromkeys(urls))
    found = await asyncio.gather(*(_read_one(http, u, max_bytes, timeout) for u in distinct))
    return dict(zip(distinct, found, strict=True))
