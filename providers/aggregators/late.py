"""LATE, the fallback aggregator: it posts to a platform account it has connected.

`account_ref` is LATE's own account `_id`. A LATE post names each target with its accountId
and profileId, so `prepare` looks the account up (which also proves the key can reach it) and
hosts the media through LATE's presigned flow; `publish` creates the post for that one account
and answers with the platform's own post id and URL.
"""

from __future__ import annotations

import asyncio
import mimetypes
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlparse

import httpx

from providers.aggregators.failover import ANSWER_LOST
from providers.base import READY, PostContent, Preparation, Published, Readiness
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)

# The seed documents no error bodies. The sandbox answers {"error", "message"}; the status
# decides the kind, the body only adds words. A status not listed: 5xx transient, else content.
ERRORS: dict[int, type[ProviderError]] = {
    400: ContentError,
    401: AuthError,
    403: AuthError,
    404: ContentError,
    408: TransientError,
    429: RateLimitedError,
}
# httpx errors raised before the request could reach LATE: nothing can have been posted.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The seed: after the PUT, "wait 1s for CDN propagation" before the publicUrl is usable.
CDN_PROPAGATION = timedelta(seconds=1)
# crier's platform names where LATE's differ (the seed's LATE examples say "twitter").
LATE_PLATFORMS = {"x": "twitter"}


class LateProvider:
    name: ClassVar[str] = "late"

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def __repr__(self) -> str:  # the key stays out of any log line that prints the provider
        return f"LateProvider({self._base!r})"

    async def prepare(self, account_ref: str, platform: str, content: PostContent) -> Preparation:
        profile_id = await self._profile(account_ref, platform)
        media = [await self._upload(url) for url in content.media_urls]
        if media:
            await asyncio.sleep(CDN_PROPAGATION.total_seconds())
        return Preparation(ids={"profile_id": profile_id, "media": media})

    async def check(self, account_ref: str, platform: str, prepared: Preparation) -> Readiness:
        # The seed has no media status; `prepare` already waited out the CDN propagation.
        return READY

    async def publish(
        self, account_ref: str, platform: str, content: PostContent, prepared: Preparation
    ) -> Published:
        ids = prepared.ids
        if "profile_id" not in ids or (content.media_urls and not ids.get("media")):
            ids = (await self.prepare(account_ref, platform, content)).ids
        target = {
            "platform": LATE_PLATFORMS.get(platform, platform),
            "accountId": account_ref,
            "profileId": ids["profile_id"],
        }
        # No scheduledFor: crier's workflow waits for the due time itself, then posts at once.
        body: dict[str, Any] = {"content": _content(content), "platforms": [target]}
        if ids.get("media"):
            body["mediaItems"] = ids["media"]
        created = await self._call("POST", "/posts", json=body)
        post = created.get("post") or {}
        results = [
            p for p in post.get("platforms") or [] if p.get("platform") == target["platform"]
        ]
        if results and results[0].get("platformPostId"):
            url = results[0].get("platformPostUrl")
            return Published(external_id=str(results[0]["platformPostId"]), url=url and str(url))
        if post.get("_id"):
            # Accepted but not yet on the platform: LATE's id is all there is to keep.
            return Published(external_id=str(post["_id"]), url=None)
        raise TransientError("post created without an id", platform=self.name)

    async def _profile(self, account_ref: str, platform: str) -> str:
        answer = await self._call("GET", "/accounts")
        for account in answer.get("accounts") or []:
            if str(account.get("_id")) == account_ref:
                return str(account.get("profileId") or "")
        # This key cannot reach the account: another key (another candidate) may.
        raise AuthError(
            f"account {account_ref} is not connected to this key",
            platform=self.name,
            code="account_not_connected",
        )

    async def _upload(self, url: str) -> dict[str, str]:
        data, content_type = await self._foreign("GET", url, follow_redirects=True)
        extension = mimetypes.guess_extension(content_type) or ""
        filename = PurePosixPath(urlparse(url).path).name or f"media{extension}"
        request = {"filename": filename, "contentType": content_type}
        target = await self._call("POST", "/media/presign", json=request)
        # The presigned URL is its own credential: the API key is not sent to the storage host.
        await self._foreign(
            "PUT", str(target["uploadUrl"]), content=data, headers={"Content-Type": content_type}
        )
        kind = "video" if content_type.startswith("video/") else "image"
        return {"url": str(target["publicUrl"]), "type": kind}

    async def _foreign(self, method: str, url: str, **kwargs: Any) -> tuple[bytes, str]:
        """A call to a media or storage host: its failures say nothing about the key."""
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            message = f"{method} media failed: {type(exc).__name__}"
            raise TransientError(message, platform=self.name) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"{method} media: HTTP {status}", platform=self.name)
        if not response.is_success or (method == "GET" and not response.content):
            raise ContentError(f"{method} media {url}: HTTP {status}", platform=self.name)
        declared = response.headers.get("content-type", "").split(";")[0].strip()
        content_type = declared or mimetypes.guess_type(url)[0] or "application/octet-stream"
        return response.content, content_type

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, self._base + path, headers=self._headers, **kwargs
            )
        except UNSENT as exc:
            message = f"connection failed: {type(exc).__name__}"
            raise TransientError(message, platform=self.name) from exc
        except httpx.TransportError as exc:
            message = f"no answer: {type(exc).__name__}"
            raise TransientError(message, platform=self.name, code=ANSWER_LOST) from exc
        if response.is_success:
            answer: dict[str, Any] = response.json() if response.content else {}
            return answer
        raise late_error(response)


def late_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        body = response.json()
        message = str(body.get("message") or body["error"])
        code = str(body["error"]) if body.get("error") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        message, code = f"HTTP {status}", None
    kind = ERRORS.get(status) or (TransientError if status >= 500 else ContentError)
    common: dict[str, Any] = {"platform": "late", "code": code, "http_status": status}
    if kind is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after(response.headers), **common)
    return kind(message, **common)


def _content(content: PostContent) -> str:
    # The seed's post has no link field: a link rides in the text, as on X.
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}"
    return content.text
