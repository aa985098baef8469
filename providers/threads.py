"""Threads through its Graph-shaped API at graph.threads.net (docs/platforms.md §3).

Every post is a container first, as on Instagram: `prepare` creates it (Meta fetches the media
from its public URL), `check` reads its status until FINISHED, `publish` calls threads_publish
once and reads the permalink. A container publishes at most once, and the workflow sleeps
durably between checks, so a restart never creates a second one.

A publish whose answer was lost is settled by its container, as on Instagram: `status`
PUBLISHED means it went out, anything else means it did not. The container does not name the
thread it became, so a PUBLISHED one is found among the user's recent threads
(`GET /{threads-user-id}/threads`, `since` the attempt began) by its exact text and media type;
were it missing there, the post is live but unnamed, which NotCheckable reports. A second
threads_publish of a published container is refused, but in words no documentation fixes, so
`publish` does not read a post id out of them.

A thread's parts are replies: each part's container is made as a post's is, with `reply_to_id`
(the part before it), then published with threads_publish. Replies have their own quota
(1,000 a day, `reply_quota_usage`). A part whose answer was lost is looked for among the
parent's replies (`GET /{id}/replies`), matched on text, media type and ownership.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    Credentials,
    MediaRules,
    PartPosition,
    PartRules,
    PlatformRules,
    PostContent,
    Preparation,
    PublishBudget,
    Published,
    Readiness,
)
from providers.errors import ContentError, ProviderError, RateLimitedError, TransientError
from providers.graph import GraphErrors, earliest_match, published_from_container
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads
from providers.kit.text import threads_length as threads_length  # tests use it here
from providers.threads_containers import container_fields, media_fields, media_type, post_text
from providers.threads_quota import explain_quota

# Threads appears to share Instagram's 2207xxx publishing subcodes (Postiz matches 2207051,
# "We restrict certain activity", on Threads), so 2207027, Instagram's "Media ID is not
# available" (published before FINISHED), is taken as retryable here too: an assumption.
ERRORS = GraphErrors(platform="threads", transient_subcodes=frozenset({2207027}))
GRAPH = ERRORS  # the name providers/connect/threads.py reads it by
API_VERSION = "v1.0"
MAX_TEXT = 500
MAX_CAROUSEL = 20  # docs/platforms.md §3 marks this U: from a third-party guide
# A part has no prepare step of its own: its container is read until FINISHED, at most this
# many times this far apart, then the try ends unsent (the container expires unpublished).
PART_CHECKS, PART_CHECK_EVERY = 6, 5.0


class ThreadsProvider:
    platform: ClassVar[Platform] = Platform.THREADS
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_TEXT,
        max_media=MAX_CAROUSEL,
        supports_drafts=False,
        prepares=True,
        text_length=threads_length,
        unit="characters (an emoji counts its UTF-8 bytes)",
        # 250 published posts per rolling 24 hours (threads_publishing_limit).
        budgets=(PublishBudget(limit=250, window=timedelta(hours=24)),),
        # docs/platforms.md §3 names IMAGE and VIDEO containers but states no media limits.
        media=MediaRules(),
        # A reply is a container like a post's, media and all (Threads "Create Replies"). The
        # docs cap replies a day (1,000), not a thread's length: crier's default of 25 parts.
        parts=PartRules(kind="reply", max_parts=25, max_text_length=MAX_TEXT, media_allowed=True),
    )

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads | None = None
    ) -> None:
        # `media` unused: the platform fetches the media URLs itself. The token goes in a
        # Bearer header, never in a URL that a proxy or a log could keep.
        self._api = PlatformAPI(http, f"{base_url.rstrip('/')}/{API_VERSION}", ERRORS)

    async def prepare(
        self,
        account: Credentials,
        content: PostContent,
        *,
        draft: bool = False,
        reply_to: str | None = None,
    ) -> Preparation:
        """A TEXT, IMAGE or VIDEO container; for 2 to 20 media, items and a CAROUSEL. With
        `reply_to`, the top container answers that thread."""
        if len(content.media_urls) <= 1:
            body = container_fields(content, [], reply_to)
            return Preparation(ids={"container": await self._create(account, body)})
        children = [
            await self._create(account, media_fields(url) | {"is_carousel_item": "true"})
            for url in content.media_urls
        ]
        body = container_fields(content, children, reply_to)
        return Preparation(
            ids={"container": await self._create(account, body), "children": children}
        )

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        params = {"fields": "status,error_message"}
        found = await self._api.call("GET", f"/{prepared.ids['container']}", account, params=params)
        status = found.get("status")
        if status in ("FINISHED", "PUBLISHED"):
            return Readiness(state="ready")
        if status == "IN_PROGRESS":
            # The troubleshooting guide asks for one status read a minute: the workflow's
            # media poll interval (CRIER_MEDIA_POLL_INTERVAL) is that minute.
            return Readiness(state="pending")
        if status == "EXPIRED":
            return Readiness(
                state="failed", reason="threads: the container expired unpublished (24 h)"
            )
        detail = found.get("error_message") or status or "no status"
        return Readiness(state="failed", reason=f"threads: the media failed to process ({detail})")

    async def publish(
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published:
        user = account.external_id
        container = prep.ids.get("container") or await self._text_container(account, content)
        params = {"creation_id": container}
        try:
            created = await self._api.call(
                "POST", f"/{user}/threads_publish", account, params=params
            )
        except RateLimitedError as limited:
            raise await explain_quota(self._api, account, limited) from None
        thread_id = str(created["id"])
        return Published(external_id=thread_id, url=await self._permalink(account, thread_id))

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The part's container, made in reply to the part before it, read until FINISHED,
        then published once."""
        prepared = await self.prepare(account, content, reply_to=position.parent.external_id)
        for _ in range(PART_CHECKS):
            readiness = await self.check(account, prepared)
            if readiness.state == "ready":
                return await self.publish(account, content, prepared)
            if readiness.state == "failed":
                reason = (readiness.reason or "the reply failed").removeprefix("threads: ")
                raise ContentError(reason, platform="threads")
            await asyncio.sleep(PART_CHECK_EVERY)
        raise TransientError(
            "the reply's container is still being processed", platform="threads", maybe_sent=False
        )

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The user's own reply to the part's parent with this text and media type."""

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            # The replies edge pages by cursor and takes no `since`; times are checked per reply.
            paging = {k: v for k, v in params.items() if k != "since"}
            fields = "id,text,media_type,timestamp,permalink,is_reply_owned_by_me"
            path = f"/{position.parent.external_id}/replies"
            return await self._api.call("GET", path, account, params=paging | {"fields": fields})

        text, kind = post_text(content), media_type(content.media_urls)
        found = await earliest_match(
            fetch,
            since=since,
            time_field="timestamp",
            matches=lambda r: (
                bool(r.get("is_reply_owned_by_me"))
                and r.get("text", "") == text
                and r.get("media_type") == kind
            ),
            what="replies",
        )
        if found is None:
            return None
        return Published(external_id=str(found["id"]), url=found.get("permalink"))

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The thread the attempt's container became, if the container was published."""

        async def status(container: str) -> Any:
            found = await self._api.call(
                "GET", f"/{container}", account, params={"fields": "status"}
            )
            return found.get("status")

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            fields = {"fields": "id,text,media_type,timestamp,permalink"}
            path = f"/{account.external_id}/threads"
            return await self._api.call("GET", path, account, params=params | fields)

        text, kind = post_text(content), media_type(content.media_urls)
        return await published_from_container(
            prepared.ids.get("container"),
            status,
            fetch,
            since=since,
            matches=lambda t: t.get("text", "") == text and t.get("media_type") == kind,
            what="threads",
        )

    async def _text_container(self, account: Credentials, content: PostContent) -> str:
        """The container of a post that reached `publish` unprepared: the workflow prepares
        only posts with media, yet Threads wants a container for text too. A TEXT container
        has nothing to process; one status read confirms it before it is published."""
        prepared = await self.prepare(account, content)
        readiness = await self.check(account, prepared)
        if readiness.state == "pending":
            # Nothing was published: the next try makes (and reads) a fresh container.
            raise TransientError(
                "the text container is still being processed", platform="threads", maybe_sent=False
            )
        if readiness.state == "failed":
            reason = (readiness.reason or "the text container failed").removeprefix("threads: ")
            raise ContentError(reason, platform="threads")
        return str(prepared.ids["container"])

    async def _create(self, account: Credentials, body: dict[str, str]) -> str:
        created = await self._api.call(
            "POST", f"/{account.external_id}/threads", account, data=body
        )
        return str(created["id"])

    async def _permalink(self, account: Credentials, thread_id: str) -> str | None:
        # The thread is live: a failed read must not fail (and so repeat) the publish.
        try:
            params = {"fields": "id,permalink"}
            found = await self._api.call("GET", f"/{thread_id}", account, params=params)
            return str(found["permalink"])
        except (ProviderError, KeyError):
            return None
