"""Fetching a caller's media URL, and fingerprinting what came back.

Used by the API when it checks a post's media, and by the worker before it publishes an
approved post: the fingerprint taken at the check is the one the reviewer saw, and the
worker refuses to publish bytes that differ from it (issue 17, item 4).

An image's fingerprint is the sha256 of its bytes. A video's bytes are not read at the check
(they run to a gigabyte), so its fingerprint is the sha256 of what its server says about them:
length, ETag and Last-Modified. A server that says none of these gives no fingerprint, and a
video that has none is not compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from core.guarded_fetch import GuardedFetcher

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")
# The headers a video's fingerprint is made of: what a server changes when the file does.
VALIDATORS = ("content-length", "etag", "last-modified")


def is_video(url: str, content_type: str | None) -> bool:
    if content_type and content_type.startswith("video/"):
        return True
    return urlsplit(url).path.lower().endswith(VIDEO_SUFFIXES)


def bytes_fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def video_fingerprint(headers: Mapping[str, str]) -> str | None:
    said = [f"{name}={headers[name]}" for name in VALIDATORS if headers.get(name)]
    if not said:
        return None
    return "headers-sha256:" + hashlib.sha256("\n".join(said).encode()).hexdigest()


async def current_fingerprint(
    fetcher: GuardedFetcher, url: str, *, max_bytes: int, deadline: float
) -> str | None:
    """What the URL serves now, fingerprinted as the check did, read through the guarded
    fetcher. Raises FetchError (core/guarded_fetch.py) when it cannot be read."""
    async with fetcher.open(url, max_bytes=max_bytes, deadline=deadline) as opened:
        opened.raise_for_status()
        if is_video(url, opened.content_type):
            return video_fingerprint(opened.headers)
        digest = hashlib.sha256()
        async for chunk in opened.chunks():
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
