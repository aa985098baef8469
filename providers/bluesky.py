"""Bluesky through the AT Protocol's XRPC API on the account's PDS (docs/platforms.md §7).

Images go up as blobs in `prepare` and are referenced by the post record in `publish`. The PDS
deletes a blob no record references within minutes, so nothing must wait between the two. A
video goes to Bluesky's video service, whose job `check` watches (providers/bluesky_video.py).
The record's links and mentions are facets (providers/bluesky_mentions.py); XRPC's error
answers are read as providers/bluesky_errors.py says.

`prepare` also fixes the post's record key (providers/bluesky_lookup.py), so every try of
`publish` writes to the same key: the PDS refuses a second record there, and `find_published`
asks `getRecord` for that key. A lookup that misses the key reads the account's recent records
too (`listRecords`), for an attempt made under another key: a run of the target before this one
prepared its own, or a publish made without `prepare`, where the PDS picked the key.

A thread's parts are replies: the same record plus `reply`, the strong refs (uri and cid) of
the thread's root and of the part before it. So `publish` returns the post's cid, and each
lookup that finds a post fills it too. A part is found again in the listing, by the parent
its record names and its text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers import bluesky_lookup as lookup
from providers.base import (
    READY,
    Credentials,
    MediaRules,
    PartPosition,
    PartRules,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.bluesky_errors import ERRORS
from providers.bluesky_lookup import published as published
from providers.bluesky_mentions import text_facets
from providers.bluesky_video import MAX_BLOB_BYTES, MAX_VIDEO_BYTES, BlueskyMedia, the_video
from providers.errors import ContentError
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.kit.text import grapheme_length as grapheme_length  # sandbox and tests use it here

POST = "app.bsky.feed.post"
LOOKUP_PAGE_SIZE = 100  # listRecords' maximum `limit`
LOOKUP_MAX_PAGES = 3


class BlueskyProvider:
    platform: ClassVar[Platform] = Platform.BLUESKY
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=300,
        max_media=4,
        prepares=True,
        text_length=grapheme_length,
        unit="graphemes",
        # docs/platforms.md §7: each image blob at most 2,000,000 bytes; one video of at most
        # 100 MB, alone (app.bsky.embed.video holds one video and no images).
        media=MediaRules(
            max_image_bytes=MAX_BLOB_BYTES,
            video_alone=True,
            gif_is_image=True,
            max_file_bytes=MAX_VIDEO_BYTES,
        ),
        # A reply is an app.bsky.feed.post record like any other: the same 300 graphemes and
        # images. The lexicon sets no cap on a thread's length: crier's default of 25 parts.
        parts=PartRules(kind="reply", max_parts=25, max_text_length=300, media_allowed=True),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)
        self._uploads = BlueskyMedia(http, self._api, base_url, media)

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        # The record key is fixed before the first createRecord: see the module docstring.
        ids: dict[str, Any] = {"rkey": lookup.new_tid()}
        media = await self._uploads.fetch(content.media_urls)
        if video := the_video(media):
            ids["video_job"] = await self._uploads.upload_video(account, video)
        else:
            ids["blobs"] = [await self._uploads.upload_image(account, image) for image in media]
        return Preparation(ids=ids)

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        # A blob is usable as soon as uploadBlob answers; a video once its job is done.
        job = prepared.ids.get("video_job")
        return await self._uploads.readiness(str(job)) if job else READY

    async def publish(
        self,
        account: Credentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        prepared = prepared or Preparation()
        blobs = prepared.ids.get("blobs")
        if job := prepared.ids.get("video_job"):
            blobs = [await self._uploads.blob(str(job))]
        elif content.media_urls and not blobs:
            blobs = await self._ready_blobs(account, content)
        record = await self._record(account, content, blobs)
        body: dict[str, Any] = {"repo": account.external_id, "collection": POST, "record": record}
        if rkey := lookup.record_key(content, prepared):
            body["rkey"] = rkey
        try:
            created = await self._xrpc(account, "POST", "com.atproto.repo.createRecord", json=body)
        except ContentError as error:
            # Our own key already holds this post: an earlier try whose answer was lost made
            # it, so it is that try's post, not a duplicate. A key the caller chose may name an
            # older post of theirs, which stays a refusal, as does a different record.
            if not (
                rkey
                and "rkey" not in content.options
                and "exist" in f"{error.code} {error.message}".lower()
            ):
                raise
            existing = await self._get_record(account, rkey)
            if existing is None or not lookup.record_matches(existing["value"], content, blobs):
                raise
            created = existing
        return published(str(created["uri"]), created.get("cid"))

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The part as a reply record; the PDS picks its key (a retry after a lost answer is
        settled by `find_published_part` first)."""
        blobs = await self._ready_blobs(account, content)
        record = await self._record(account, content, blobs)
        record["reply"] = {
            "root": await self._strong_ref(account, position.root),
            "parent": await self._strong_ref(account, position.parent),
        }
        body = {"repo": account.external_id, "collection": POST, "record": record}
        created = await self._xrpc(account, "POST", "com.atproto.repo.createRecord", json=body)
        return published(str(created["uri"]), created.get("cid"))

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The account's reply to the part's parent with its text, made since `since`."""
        parent = position.parent.external_id
        return await self._find_listed(account, content, None, since=since, parent=parent)

    async def _record(
        self, account: Credentials, content: PostContent, blobs: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """The app.bsky.feed.post record of `content`: text, facets, langs, embed."""
        created_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record: dict[str, Any] = {"$type": POST, "text": content.text, "createdAt": created_at}
        if facets := await text_facets(self._api, account, content.text):
            record["facets"] = facets
        if langs := content.options.get("langs"):
            record["langs"] = list(langs)
        if embed := lookup.post_embed(content, blobs):
            record["embed"] = embed
        return record

    async def _strong_ref(self, account: Credentials, post: Published) -> dict[str, str]:
        """A post's uri and cid; a post published before crier kept cids is read for its own."""
        if post.cid:
            return {"uri": post.external_id, "cid": post.cid}
        repo, _, rkey = post.external_id.removeprefix("at://").partition(f"/{POST}/")
        params = {"repo": repo, "collection": POST, "rkey": rkey}
        found = await self._xrpc(account, "GET", "com.atproto.repo.getRecord", params=params)
        return {"uri": post.external_id, "cid": str(found["cid"])}

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        blobs = prepared.ids.get("blobs")
        rkey = lookup.record_key(content, prepared)
        found = await self._get_record(account, rkey) if rkey else None
        if found is not None and lookup.record_matches(found["value"], content, blobs):
            return published(str(found["uri"]), found.get("cid"))
        # Not at our key: the attempt may have written under another (see the module).
        return await self._find_listed(account, content, blobs, since=since)

    async def _find_listed(
        self,
        account: Credentials,
        content: PostContent,
        blobs: list[dict[str, Any]] | None,
        *,
        since: datetime,
        parent: str | None = None,
    ) -> Published | None:
        """The account's newest post records (listRecords answers newest key first), matched
        on text, embed, the post replied to (`parent`; None: none) and a createdAt no earlier
        than `since`."""
        params = {"repo": account.external_id, "collection": POST, "limit": LOOKUP_PAGE_SIZE}

        async def read(cursor: str | None) -> Page[dict[str, Any]]:
            paged = {**params, "cursor": cursor} if cursor else params
            page = await self._xrpc(account, "GET", "com.atproto.repo.listRecords", params=paged)
            return Page(page.get("records") or [], page.get("cursor"))

        listed = walk(
            read,
            max_pages=LOOKUP_MAX_PAGES,
            stop=lambda records: not records or lookup.older(records[-1], since),
            beyond=f"the account made over {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} posts since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back",
        )
        async for record in listed:
            if lookup.listed_matches(record, content, blobs, since=since, parent=parent):
                return published(str(record["uri"]), record.get("cid"))
        return None

    async def _get_record(self, account: Credentials, rkey: str) -> dict[str, Any] | None:
        params = {"repo": account.external_id, "collection": POST, "rkey": rkey}
        try:
            return await self._xrpc(account, "GET", "com.atproto.repo.getRecord", params=params)
        except ContentError as error:
            if error.code == "RecordNotFound":
                return None
            raise

    async def _ready_blobs(self, account: Credentials, content: PostContent) -> list[Any]:
        """The media's blobs for a publish without `prepare`: a video waited for here."""
        media = await self._uploads.fetch(content.media_urls)
        if video := the_video(media):
            return [await self._uploads.ready_blob(account, video)]
        return [await self._uploads.upload_image(account, image) for image in media]

    async def _xrpc(
        self, account: Credentials, method: str, nsid: str, **kwargs: Any
    ) -> dict[str, Any]:
        return await self._api.call(method, f"/xrpc/{nsid}", account, **kwargs)
