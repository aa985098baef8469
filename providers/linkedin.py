"""LinkedIn through the versioned Posts API (docs/platforms.md §4).

Posts as the author URN the account names (an organization or a person). Images
(providers/linkedin_images.py) or one video (providers/linkedin_video.py: the Videos API, its
file PUT in parts) are uploaded in `prepare` and polled in `check` until LinkedIn has processed
them, because a post naming unprocessed media is refused.

After a publish whose answer was lost, `find_published` pages through the author's posts
(`GET /rest/posts?q=author`, newest created first) back to the attempt's start, for the one
with the commentary and content `publish` sends. LinkedIn lets only apps holding the private
r_member_social permission read a member's posts, so for a person it usually answers 403: the
provider raises NotCheckable then, and the target ends `unconfirmed`.

LinkedIn refuses a repeated commentary with a 422 naming the live post. `publish` takes that
post as its own only when it carries the images or video this target uploaded in `prepare` (URNs
no other post can hold); a text-only duplicate stays a ContentError, since nothing tells a retry
from a genuine repeat of an older post, and `find_published` already looked before the retry.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from core.status import Platform
from providers.base import (
    Credentials,
    MediaRules,
    NotCheckable,
    PartPosition,
    PartRules,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.errors import AuthError, ContentError, TransientError
from providers.kit.api import PlatformAPI, bearer
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.linkedin_errors import ERRORS
from providers.linkedin_lookup import (
    comment_body,
    comment_published,
    comments_page,
    comments_path,
    content_key,
    is_own_comment,
    is_the_post,
    posts_page,
    published,
    unreadable,
)
from providers.linkedin_video import media_post_body, media_ready, upload_media

# Versions retire about a year after release, then every call answers 426 NONEXISTENT_VERSION:
# bump this before then (Postiz uses 202601).
API_VERSION = "202601"
RESTLI_PROTOCOL = "2.0.0"
POST_URN = re.compile(r"urn:li:[A-Za-z]+:[\w-]+")
# Reconciliation: the finder's page (count) and how many pages to read before giving up. Posts
# come newest created first, so the walk stops at the first one older than the attempt.
LOOKUP_PAGE_SIZE = 50
LOOKUP_MAX_PAGES = 10


def rest_auth(account: Credentials) -> dict[str, str]:
    """Every REST call names the API version it speaks."""
    return {
        **bearer(account),
        "LinkedIn-Version": API_VERSION,
        "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
    }


class LinkedInProvider:
    platform: ClassVar[Platform] = Platform.LINKEDIN
    # No drafts: the schema has lifecycleState DRAFT, but nobody can find or publish one later.
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=3000,
        max_media=20,
        supports_drafts=False,
        prepares=True,
        # docs/platforms.md §4 states no image limits. A post carries one video and nothing
        # beside it (content.media takes one id; multiImage takes images only).
        media=MediaRules(video_alone=True, gif_is_image=True),  # a GIF stays an image
        # One first comment, of at most 1,250 characters (LinkedIn's comment limit as API
        # clients document it; the Comments API reference states none) (U).
        parts=PartRules(kind="comment", max_parts=1, max_text_length=1_250, media_allowed=False),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None:
        self._api = PlatformAPI(http, base_url.rstrip("/") + "/rest", ERRORS, auth=rest_auth)
        self._media = media

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        ids = await upload_media(self._api, self._media, account, content.media_urls)
        return Preparation(ids=ids)

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        return await media_ready(partial(self._media_status, account), prepared.ids)

    async def _media_status(self, account: Credentials, path: str) -> dict[str, Any] | None:
        """An uploaded media's processing status; None when a person's token may not read it
        back (w_member_social, for images; assumed alike for videos (U)): publish will say."""
        try:
            return await self._api.call("GET", path, account)
        except AuthError as exc:
            if exc.http_status == 403 and account.external_id.startswith("urn:li:person:"):
                return None
            raise

    async def publish(
        self,
        account: Credentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        ids = (prepared or Preparation()).ids
        if content.media_urls and not (ids.get("images") or ids.get("video")):
            ids = (await self.prepare(account, content)).ids
        body = media_post_body(account.external_id, content, ids)
        try:
            response = await self._api.answer("POST", "/posts", account, json=body)
        except ContentError as refused:
            duplicate = refused.code == "DUPLICATE"
            if duplicate and (own := await self._own_duplicate(account, refused, body)):
                return own
            raise
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise TransientError("201 without an x-restli-id header", platform="linkedin")
        return published(urn)

    async def _own_duplicate(
        self, account: Credentials, refused: ContentError, body: dict[str, Any]
    ) -> Published | None:
        """The live post a 422 duplicate names, if it is this target's own earlier attempt:
        it carries the media URNs this target's `prepare` uploaded, which no other post can.
        A text-only post has no such key, so its duplicate stays a refusal."""
        urn = POST_URN.search(refused.message)
        if urn is None or content_key(body.get("content"))[:1] != ("images",):
            return None
        try:
            post = await self._api.call("GET", f"/posts/{quote(urn.group(), safe='')}", account)
        except (AuthError, ContentError):
            return None  # a person's posts cannot be read back (r_member_social): unprovable
        # A transient failure of the read goes up: the attempt stays unknown, and the next try
        # looks for the post first.
        if not is_the_post(post, body, images_known=True):
            return None
        return published(urn.group())

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The author's post made since `since` with this commentary and content, if any."""
        ids = prepared.ids
        body = media_post_body(account.external_id, content, ids)
        known = bool(ids.get("images") or ids.get("video")) or not content.media_urls
        async for element in self._posts_since(account, since):
            if is_the_post(element, body, images_known=known):
                return published(str(element["id"]))
        return None

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The first comment, by the author on its own post."""
        post = position.root.external_id
        body = comment_body(account.external_id, post, content.text)
        answer = await self._api.call("POST", comments_path(post), account, json=body)
        return comment_published(post, answer)

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The author's own comment on the post with exactly this text, since `since`."""
        post = position.root.external_id

        async def read(start: str | None) -> Page[dict[str, Any]]:
            params = {"start": int(start or 0), "count": LOOKUP_PAGE_SIZE}
            answer = await self._readable(account, comments_path(post), params=params)
            return comments_page(answer, int(start or 0), LOOKUP_PAGE_SIZE)

        beyond = f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} comments on {post}"
        async for element in walk(read, max_pages=LOOKUP_MAX_PAGES, beyond=beyond):
            if is_own_comment(element, account.external_id, content.text, since):
                return comment_published(post, element)
        return None

    async def _readable(self, account: Credentials, path: str, **kwargs: Any) -> dict[str, Any]:
        """A read of the author's posts or comments; a 403 (a member's, which only the private
        r_member_social permission reads) makes the lookup NotCheckable."""
        try:
            return await self._api.call("GET", path, account, **kwargs)
        except AuthError as exc:
            if exc.http_status != 403:
                raise  # 401: the token is dead; a person reconnects, then it looks again
            raise NotCheckable(unreadable(account, exc)) from exc

    def _posts_since(self, account: Credentials, since: datetime) -> AsyncIterator[dict[str, Any]]:
        """The author's posts created at or after `since`, newest first ("find posts by
        authors", sorted by CREATED), a page at a time up to LOOKUP_MAX_PAGES."""

        async def read(start: str | None) -> Page[dict[str, Any]]:
            offset = int(start or 0)
            params: dict[str, Any] = {"q": "author", "author": account.external_id}
            params |= {"sortBy": "CREATED", "count": LOOKUP_PAGE_SIZE, "start": offset}
            finder = {"X-RestLi-Method": "FINDER"}
            answer = await self._readable(account, "/posts", params=params, headers=finder)
            return posts_page(answer, since, offset, LOOKUP_PAGE_SIZE)

        return walk(
            read,
            max_pages=LOOKUP_MAX_PAGES,
            beyond=f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} posts by "
            f"{account.external_id} since {since.isoformat()}; the lookup stops there",
        )
