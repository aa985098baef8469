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

import asyncio
import hashlib
from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urlsplit

import httpx

from core.destinations import BlockedDestination, Unresolvable, resolve

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")
# The headers a video's fingerprint is made of: what a server changes when the file does.
VALIDATORS = ("content-length", "etag", "last-modified")


class PrivateAddressError(httpx.RequestError):
    """A media URL (or a redirect) led to a private, loopback or link-local address."""


class MediaTooLarge(Exception):
    """More bytes than the cap allows."""


def media_client(*, allow_private: bool) -> httpx.AsyncClient:
    """The client media is fetched with, shared by every request.

    Outside development it refuses private, loopback and link-local addresses, redirects
    included: a caller must not make crier fetch from inside its own network.
    """
    # httpx keeps cookies a response sets and sends them on later requests; one caller's
    # media host must never see cookies another caller's host set, so none are kept.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    hooks = {} if allow_private else {"request": [_refuse_private_addresses]}
    return httpx.AsyncClient(
        follow_redirects=True,  # CDNs answer with redirects; the hook sees each hop
        cookies=no_cookies,
        trust_env=False,  # no proxy credentials or .netrc from the environment
        event_hooks=hooks,
    )


async def _refuse_private_addresses(request: httpx.Request) -> None:
    host = request.url.host
    try:
        await resolve(host, request.url.port or 443, allow_private=False)
    except Unresolvable as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except BlockedDestination:
        raise PrivateAddressError(f"{host} is a private address", request=request) from None


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
    http: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 - one budget for the whole fetch, not per read
) -> str | None:
    """What the URL serves now, fingerprinted as the check did. Raises httpx.HTTPError (or
    TimeoutError, MediaTooLarge) when it cannot be read."""
    async with asyncio.timeout(timeout), http.stream("GET", url) as response:
        response.raise_for_status()
        if is_video(url, response.headers.get("content-type")):
            return video_fingerprint(response.headers)
        digest, size = hashlib.sha256(), 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaTooLarge(f"larger than {max_bytes:,} bytes")
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
