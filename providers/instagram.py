"""Instagram content publishing through the Graph API (docs/platforms.md §2).

Three steps, as the platform demands: create a container (Meta fetches the media from its
public URL), wait until its status is FINISHED (a reel can encode for minutes), then
media_publish it. `prepare` creates, `check` reads the status, `publish` publishes: the
workflow sleeps durably between checks, so a restart never creates a second container.

A publish whose answer was lost is settled by its container, which publishes at most once:
`status_code` PUBLISHED means it went out, anything else means it did not. The container does
not name the media it became, so a PUBLISHED one is found among the account's recent media
(`GET /{ig-user-id}/media`, `since` the attempt began) by its exact caption and media type;
were it missing there, the post is live but unnamed, which NotCheckable reports. Graph has no
duplicate refusal here to recover from. A story is not among the media: it is looked for among
the account's live stories (`GET /{ig-user-id}/stories`) by its media type alone, since a story
carries no caption; a feed post's lookup passes over anything listed as a STORY.

The target's options choose the post (providers/options/instagram.py), and
providers/instagram_containers.py turns them into a container's fields: `post_type` `story`
makes a STORIES container of the one image or video; a reel takes a cover (`cover_url` or
`thumb_offset`), `share_to_feed`, and collaborators, which feed posts take too.

A first comment (a part after the post) is the account's own comment on its media
(`POST /{ig-media-id}/comments`); a lost one is looked for among the media's comments by the
account as author (`from.id`) and the exact text.
"""

from __future__ import annotations

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
from providers.errors import ProviderError
from providers.graph import (
    GraphErrors,
    earliest_match,
    oauth,
    own_comment,
    published_from_container,
)
from providers.instagram_containers import container_fields, media_fields, media_type
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads
from providers.options.instagram import post_type

# Instagram's subcodes beyond Graph's table (docs/platforms.md §2, Postiz): 2207027 is "Media ID is
# not available" (publishing before FINISHED), retryable; 2207042 is the daily publishing cap.
ERRORS = GraphErrors(
    platform="instagram",
    transient_subcodes=frozenset({2207003, 2207027, 2207052, 2207053, 2207082}),
    rate_limit_subcodes=frozenset({2207042}),
    quota_window=timedelta(hours=24),
)


class InstagramProvider:
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=2_200,
        max_media=10,
        requires_media=True,
        prepares=True,
        # content_publishing_limit: 100 per rolling 24 h in current docs (docs/platforms.md §2).
        budgets=(PublishBudget(limit=100, window=timedelta(hours=24)),),
        # docs/platforms.md §2: JPEG, at most 8 MB, 4:5 to 1.91:1, 320 to 1440 px wide; reels
        # allowed. Assumption: MB read as 10^6 bytes, the stricter reading.
        media=MediaRules(
            image_formats=frozenset({"JPEG"}),
            max_image_bytes=8_000_000,
            min_width=320,
            max_width=1440,
            min_aspect=4 / 5,
            max_aspect=1.91,
        ),
        # One first comment. 2,200 characters, as the caption: the IG Comments reference states
        # none; third-party API docs give 2,200 (one says 2,196) (U).
        parts=PartRules(kind="comment", max_parts=1, max_text_length=2_200, media_allowed=False),
    )

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads | None = None
    ) -> None:
        # `media` unused: the platform fetches the media URLs itself. GETs carry the token in
        # the OAuth header; POSTs carry it in their body (account None: no header).
        self._api = PlatformAPI(http, base_url, ERRORS, auth=oauth)

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """One container for a story, an image or a reel; children and a CAROUSEL container
        for 2 to 10."""
        story = post_type(content.options.get("post_type"), content.media_urls) == "story"
        if story or len(content.media_urls) == 1:
            body = container_fields(content, [])
            return Preparation(ids={"container": await self._create(account, body)})
        children = [
            await self._create(
                account, media_fields(url, content.alt(i)) | {"is_carousel_item": True}
            )
            for i, url in enumerate(content.media_urls)
        ]
        body = container_fields(content, children)
        return Preparation(
            ids={"container": await self._create(account, body), "children": children}
        )

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        container = prepared.ids["container"]
        params = {"fields": "status_code,status"}
        found = await self._api.call("GET", f"/{container}", account, params=params)
        status = found.get("status_code")
        if status in ("FINISHED", "PUBLISHED"):
            return Readiness(state="ready")
        if status == "IN_PROGRESS":
            # No hint from the platform: the workflow's media poll interval applies (the guide
            # asks for at most one status read a minute; CRIER_MEDIA_POLL_INTERVAL).
            return Readiness(state="pending")
        if status == "EXPIRED":
            return Readiness(state="failed", reason="instagram: the container expired unpublished")
        detail = found.get("status") or "no detail"
        return Readiness(
            state="failed", reason=f"instagram: the media failed to process ({detail})"
        )

    async def publish(
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published:
        body = {"creation_id": prep.ids["container"], "access_token": account.access_token}
        path = f"/{account.external_id}/media_publish"
        created = await self._api.call("POST", path, None, json=body)
        media_id = str(created["id"])
        return Published(external_id=media_id, url=await self._permalink(account, media_id))

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The media the attempt's container became, if the container was published."""

        async def status(container: str) -> Any:
            params = {"fields": "status_code"}
            found = await self._api.call("GET", f"/{container}", account, params=params)
            return found.get("status_code")

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            fields = {"fields": "id,caption,media_type,media_product_type,timestamp,permalink"}
            path = f"/{account.external_id}/media"
            return await self._api.call("GET", path, account, params=params | fields)

        async def stories(params: dict[str, str]) -> dict[str, Any]:
            fields = {"fields": "id,media_type,media_product_type,timestamp,permalink"}
            path = f"/{account.external_id}/stories"
            return await self._api.call("GET", path, account, params=params | fields)

        container = prepared.ids.get("container")
        kind = media_type(content.media_urls)
        if post_type(content.options.get("post_type"), content.media_urls) == "story":
            # No caption to match: the earliest story of its media type since the attempt
            # began, once the container says it was published (U: two stories of one type in
            # one lost window would be told apart by time alone).
            return await published_from_container(
                container,
                status,
                stories,
                since=since,
                matches=lambda m: m.get("media_type") == kind,
                what="stories",
            )
        return await published_from_container(
            container,
            status,
            fetch,
            since=since,
            matches=lambda m: (
                m.get("caption", "") == content.text
                and m.get("media_type") == kind
                and m.get("media_product_type") != "STORY"
            ),
            what="media",
        )

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The first comment, written by the account on its own media."""
        body = {"message": content.text, "access_token": account.access_token}
        path = f"/{position.root.external_id}/comments"
        created = await self._api.call("POST", path, None, json=body)
        return _comment(created, position)

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The account's own comment on the media with exactly this text, since `since`."""
        path = f"/{position.root.external_id}/comments"

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            fields = {"fields": "id,text,from,username,timestamp"}
            return await self._api.call("GET", path, account, params=params | fields)

        found = await earliest_match(
            fetch,
            since=since,
            time_field="timestamp",
            matches=own_comment(account.external_id, content.text, "text"),
            what="comments",
        )
        return None if found is None else _comment(found, position)

    async def _create(self, account: Credentials, body: dict[str, Any]) -> str:
        body = body | {"access_token": account.access_token}
        created = await self._api.call("POST", f"/{account.external_id}/media", None, json=body)
        return str(created["id"])

    async def _permalink(self, account: Credentials, media_id: str) -> str | None:
        # The media is live: a failed read must not fail (and so repeat) the publish.
        try:
            params = {"fields": "permalink"}
            found = await self._api.call("GET", f"/{media_id}", account, params=params)
            # A story may have none (U): no link rather than a made-up one.
            return str(found["permalink"]) if found.get("permalink") else None
        except (ProviderError, KeyError):
            return None


def _comment(comment: dict[str, Any], position: PartPosition) -> Published:
    # Graph gives a comment no permalink; Instagram's own link to one is the post's plus
    # c/{comment-id}/ (U: seen on instagram.com, not documented).
    comment_id = str(comment["id"])
    post = position.root.url
    url = f"{post.rstrip('/')}/c/{comment_id}/" if post else None
    return Published(external_id=comment_id, url=url)
