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

from providers.aggregators.api import AggregatorAPI, error_table, not_connected, text_with_link
from providers.base import READY, PostContent, Preparation, Published, Readiness
from providers.errors import TransientError
from providers.kit.media import MediaDownloads

ERRORS = error_table("late")
# The seed: after the PUT, "wait 1s for CDN propagation" before the publicUrl is usable.
CDN_PROPAGATION = timedelta(seconds=1)
# crier's platform names where LATE's differ (the seed's LATE examples say "twitter").
LATE_PLATFORMS = {"x": "twitter"}


class LateProvider:
    name: ClassVar[str] = "late"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, media: MediaDownloads
    ) -> None:
        self._api = AggregatorAPI(http, base_url, api_key, ERRORS)
        self._media = media

    def __repr__(self) -> str:  # the key stays out of any log line that prints the provider
        return f"LateProvider({self._api.base!r})"

    async def prepare(self, account_ref: str, platform: str, content: PostContent) -> Preparation:
        profile_id = await self._profile(account_ref)
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
        body: dict[str, Any] = {"content": text_with_link(content), "platforms": [target]}
        if ids.get("media"):
            body["mediaItems"] = ids["media"]
        created = await self._api.call("POST", "/posts", json=body)
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

    async def _profile(self, account_ref: str) -> str:
        answer = await self._api.call("GET", "/accounts")
        for account in answer.get("accounts") or []:
            if str(account.get("_id")) == account_ref:
                return str(account.get("profileId") or "")
        raise not_connected(self.name, account_ref)

    async def _upload(self, url: str) -> dict[str, str]:
        # The platform's limit is the aggregator's to apply: the worker's ceiling is ours.
        media = await self._media.fetch(url, platform=self.name, max_bytes=None)
        content_type = media.media_type()
        extension = mimetypes.guess_extension(content_type) or ""
        filename = PurePosixPath(urlparse(url).path).name or f"media{extension}"
        request = {"filename": filename, "contentType": content_type}
        target = await self._api.call("POST", "/media/presign", json=request)
        await self._api.put_media(str(target["uploadUrl"]), media.content, content_type)
        kind = "video" if content_type.startswith("video/") else "image"
        return {"url": str(target["publicUrl"]), "type": kind}
