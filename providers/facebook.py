"""Facebook Pages through the Graph API (docs/platforms.md §1).

Publishes with the Page token (seed 003: never the user token). Photos are uploaded unpublished
and attached to one feed post, so a multi-photo post is a single post on the Page.

A publish whose answer was lost is looked for among the Page's own posts
(`GET /{page-id}/published_posts`, newest first, `since` the attempt began), matched on the exact
message sent; the message is the key because the Page's attachments are Facebook's copies, whose
URLs say nothing of ours. Two limits make it NotCheckable instead: a draft (an unpublished
"dark" post) is listed by no edge a Page token may read now that promotable_posts is gone, and
a post without a message has nothing to be recognised by. `find_published` is not told whether
the attempt made a draft: `prepare` notes it, but only a post with photos is prepared, so a
text-only draft is looked for as a published post (and not found).

Videos and reels are prepared, checked while Facebook processes them, and published in
providers/facebook_video.py; text and photo posts are as above (their `check` is ready at once).

A first comment (a part after the post) is the Page's own comment on its post
(`POST /{page-post-id}/comments`); a lost one is looked for among the post's comments, newest
first, by the Page as author (`from.id`) and the exact message.

Graph's duplicate refusal (code 506, "Duplicate status message") names no post, so `publish`
cannot turn it into the live one: it stays a content error. The lookup above runs before any
retry, so a retry reaches 506 only for a post the lookup did not find.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    Credentials,
    MediaRules,
    NotCheckable,
    OneStepPublishing,
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
from providers.facebook_video import FacebookVideos
from providers.graph import GraphErrors, earliest_match, is_video, oauth, own_comment
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads

# Facebook's own subcodes beyond Graph's common table (docs/platforms.md §1, Postiz).
ERRORS = GraphErrors(platform="facebook", transient_subcodes=frozenset({1363047, 1609010}))
GRAPH = ERRORS  # the name tests read it by


class FacebookProvider(OneStepPublishing):
    platform: ClassVar[Platform] = Platform.FACEBOOK
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=63_206,
        max_media=10,
        supports_drafts=True,
        prepares=True,
        # 200 calls an hour per token (seed 000, OQ-SP-4); a publish makes about two.
        budgets=(PublishBudget(limit=100, window=timedelta(hours=1)),),
        # docs/platforms.md §1: photos JPG/PNG, under 4 MB (assumption: 10^6-byte MB). One video
        # (a Page video, or a reel with `post_type: "reel"`) is a post alone: Graph takes one
        # file per video. A reel's 3-90 s and 9:16 are the platform's to check (no duration or
        # aspect is read from a video here).
        media=MediaRules(
            image_formats=frozenset({"JPEG", "PNG"}),
            max_image_bytes=4_000_000,
            video_alone=True,
            gif_is_image=True,  # a GIF is a photo on a Page post, as before videos came
        ),
        # One first comment. 8,000 characters: Graph's comment reference states no limit; this
        # is the limit Facebook's comment box enforces, as third-party guides report (U).
        parts=PartRules(kind="comment", max_parts=1, max_text_length=8_000, media_allowed=False),
    )

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads | None = None
    ) -> None:
        # `media` unused: the platform fetches the media URLs itself. GETs carry the Page token
        # in the OAuth header; POSTs carry it in their body (account None: no header).
        self._api = PlatformAPI(http, base_url, ERRORS, auth=oauth)
        self._videos = FacebookVideos(self._api)

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Photos go up unpublished first; they appear only when the feed post attaches them.

        Whether the post is a draft is noted too: `find_published` is not told the mode, and
        a draft is in no list Graph offers, so it must not be looked for as a published post."""
        if _has_video(content):
            return Preparation(ids=await self._videos.prepare(account, content) | {"draft": draft})
        photos = [
            await self._upload_unpublished_photo(account, url, content.alt(index))
            for index, url in enumerate(content.media_urls)
        ]
        return Preparation(ids={"photos": photos, "draft": draft})

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        """A video's processing; photos are ready once uploaded."""
        if "video" in prepared.ids:
            return await self._videos.check(account, prepared)
        return await super().check(account, prepared)

    async def publish(
        self,
        account: Credentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        if _has_video(content):
            video = prepared if prepared and "video" in prepared.ids else None
            video = video or await self.prepare(account, content, draft=draft)
            return await self._videos.publish(account, content, video, draft=draft)
        page = account.external_id
        body: dict[str, Any] = {"message": content.text, "access_token": account.access_token}
        if draft:
            # An unpublished ("dark") Page post: it waits in the Page's publishing tools.
            body["published"] = False
        if content.link:
            body["link"] = content.link
        photos = (prepared or Preparation()).ids.get("photos")
        if content.media_urls and not photos:
            photos = (await self.prepare(account, content)).ids["photos"]
        if photos:
            body["attached_media"] = [{"media_fbid": photo} for photo in photos]
        created = await self._api.call("POST", f"/{page}/feed", None, json=body)
        post_id = str(created["id"])
        return Published(external_id=post_id, url=await self._permalink(account, post_id))

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The Page post carrying exactly this message, created at or after `since`."""
        # Only a post with photos is prepared, so only then is the draft flag kept; without it
        # the attempt is taken for a published post (find_published is not told the mode).
        if prepared.ids.get("draft"):
            raise NotCheckable(
                "Graph lists no unpublished (draft) Page posts to a Page token: "
                "promotable_posts, which did, no longer exists"
            )
        if "video" in prepared.ids:
            return await self._videos.find_published(account, prepared)
        if not content.text:
            raise NotCheckable("a post without a message cannot be told apart on the Page")
        page = account.external_id

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            fields = {"fields": "id,message,created_time,permalink_url"}
            return await self._api.call(
                "GET", f"/{page}/published_posts", account, params=params | fields
            )

        found = await earliest_match(
            fetch,
            since=since,
            time_field="created_time",
            matches=lambda post: post.get("message") == content.text,
            what="Page posts",
        )
        if found is None:
            return None
        post_id = str(found["id"])
        url = found.get("permalink_url")
        return Published(
            external_id=post_id,
            url=str(url) if url else await self._permalink(account, post_id),
        )

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The first comment, written by the Page on its own post. Graph's read-after-write
        answers the comment's permalink in the same call."""
        body = {"message": content.text, "access_token": account.access_token}
        path = f"/{position.root.external_id}/comments"
        params = {"fields": "id,permalink_url"}
        return _comment(await self._api.call("POST", path, None, params=params, json=body))

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The Page's own comment on the post with exactly this message, since `since`."""
        path = f"/{position.root.external_id}/comments"

        async def fetch(params: dict[str, str]) -> dict[str, Any]:
            # filter=stream: every comment, not Graph's default filtered view (comments edge).
            listed = {"fields": "id,message,from,created_time,permalink_url", "filter": "stream"}
            listed["order"] = "reverse_chronological"  # newest first, as earliest_match reads
            return await self._api.call("GET", path, account, params=params | listed)

        found = await earliest_match(
            fetch,
            since=since,
            time_field="created_time",
            matches=own_comment(account.external_id, content.text, "message"),
            what="comments",
        )
        return None if found is None else _comment(found)

    async def _upload_unpublished_photo(
        self, account: Credentials, url: str, alt: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "url": url,
            "published": False,
            "access_token": account.access_token,
        }
        if alt:
            body["alt_text_custom"] = alt  # the photo's own alt text (docs/platforms.md §1)
        photo = await self._api.call("POST", f"/{account.external_id}/photos", None, json=body)
        return str(photo["id"])

    async def _permalink(self, account: Credentials, post_id: str) -> str:
        # The post already exists: a failed read must not fail (and so repeat) the publish.
        try:
            params = {"fields": "permalink_url"}
            found = await self._api.call("GET", f"/{post_id}", account, params=params)
            return str(found["permalink_url"])
        except (ProviderError, KeyError):
            return f"https://www.facebook.com/{post_id}"


def _has_video(content: PostContent) -> bool:
    # A video is a post's only media (rules: video_alone); Facebook reads it from its URL.
    return bool(content.media_urls) and is_video(content.media_urls[0])


def _comment(comment: dict[str, Any]) -> Published:
    url = comment.get("permalink_url")
    return Published(external_id=str(comment["id"]), url=str(url) if url else None)
