"""PostForMe, the primary aggregator: it posts to a platform account it has connected.

`account_ref` is PostForMe's own social-account id. Media goes through its presigned flow in
`prepare` (create-upload-url, PUT the bytes, keep the hosted media_url); `publish` creates the
social post for that one account.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from providers.aggregators.api import AggregatorAPI, error_table, not_connected, text_with_link
from providers.base import READY, PostContent, Preparation, Published, Readiness
from providers.errors import TransientError
from providers.kit.media import MediaDownloads

ERRORS = error_table("postforme")


class PostForMeProvider:
    name: ClassVar[str] = "postforme"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, media: MediaDownloads
    ) -> None:
        self._api = AggregatorAPI(http, base_url, api_key, ERRORS)
        self._media = media

    def __repr__(self) -> str:  # the key stays out of any log line that prints the provider
        return f"PostForMeProvider({self._api.base!r})"

    async def prepare(self, account_ref: str, platform: str, content: PostContent) -> Preparation:
        """Checks the key can post for the account, then hosts each image with PostForMe."""
        await self._connected(account_ref)
        media = [await self._upload(url) for url in content.media_urls]
        return Preparation(ids={"media_urls": media})

    async def check(self, account_ref: str, platform: str, prepared: Preparation) -> Readiness:
        # The seed has no media status: a hosted media_url is usable as soon as the PUT is done.
        return READY

    async def publish(
        self, account_ref: str, platform: str, content: PostContent, prepared: Preparation
    ) -> Published:
        # No scheduled_at: crier's workflow waits for the due time itself, then posts at once.
        body: dict[str, Any] = {
            "caption": text_with_link(content),
            "social_accounts": [account_ref],
        }
        media = prepared.ids.get("media_urls")
        if content.media_urls and not media:
            media = (await self.prepare(account_ref, platform, content)).ids["media_urls"]
        if media:
            body["media"] = [{"url": url} for url in media]
        created = await self._api.call("POST", "/social-posts", json=body)
        post = created.get("data") if isinstance(created.get("data"), dict) else created
        post_id = (post or {}).get("id")
        if not post_id:
            raise TransientError("social post created without an id", platform=self.name)
        # PostForMe answers with its own post id only, never the platform's id or URL, so that
        # id is the one crier can keep and there is no public URL to give.
        return Published(external_id=str(post_id), url=None)

    async def _connected(self, account_ref: str) -> None:
        answer = await self._api.call("GET", "/social-accounts")
        if not any(str(a.get("id")) == account_ref for a in answer.get("data") or []):
            raise not_connected(self.name, account_ref)

    async def _upload(self, url: str) -> str:
        # The platform's limit is the aggregator's to apply: the worker's ceiling is ours.
        media = await self._media.fetch(url, platform=self.name, max_bytes=None)
        content_type = media.media_type()
        request = {"content_type": content_type}
        target = await self._api.call("POST", "/media/create-upload-url", json=request)
        await self._api.put_media(str(target["upload_url"]), media.content, content_type)
        return str(target["media_url"])
