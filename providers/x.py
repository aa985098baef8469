"""X through API v2 (docs/platforms.md §5).

Posts as the user with their OAuth 2.0 user token. Media goes up through the v2 chunked upload
(initialize, append, finalize) in `prepare`; video and GIFs are then processed by X, which
`check` polls, so the tweet is posted only once every attachment is usable
(providers/x_media.py). X's error answers are read as providers/x_errors.py says.

After a publish whose answer was lost, `find_published` reads the user's timeline
(`GET /2/users/{id}/tweets` from the attempt's start) for the tweet `publish` made, matched as
providers/x_lookup.py says. An app whose X access level may not read timelines gets a 403:
NotCheckable. A duplicate `publish` meets is its own tweet only as `_own_duplicate` says.

A thread's parts are replies: `publish_part` posts each as a tweet is posted, plus
`reply.in_reply_to_tweet_id` (the part before it), and `find_published_part` looks for it on
the same timeline, matched by the tweet it answers too.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
    PublishBudget,
    Published,
    Readiness,
)
from providers.errors import AuthError, ContentError, TransientError
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.kit.text import weighted_length as weighted_length  # tests use it here
from providers.x_errors import DUPLICATE_DETAIL, ERRORS
from providers.x_lookup import is_the_tweet, timeline_params, tweet_text
from providers.x_media import MAX_FILE_BYTES, XMedia

# The handle is not in Credentials (only the numeric user id); /i/ stands in for it.
PUBLIC_URL = "https://x.com/{user}/status/{id}"
MEDIA_TTL = timedelta(days=1)  # an uploaded media id expires after expires_after_secs, 86,400
LOOKUP_PAGE_SIZE = 100  # GET /2/users/{id}/tweets takes max_results 5 to 100
LOOKUP_MAX_PAGES = 5  # then NotCheckable: the tweet may be among those not read
# A part has no prepare step of its own: its video or GIF is waited for before the reply is
# posted, at most this many status reads, then the try ends unsent and is made again.
PART_MEDIA_CHECKS = 10


def published(tweet_id: str) -> Published:
    return Published(external_id=tweet_id, url=PUBLIC_URL.format(user="i", id=tweet_id))


class XProvider:
    platform: ClassVar[Platform] = Platform.X
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=280,  # weighted characters
        max_media=4,
        supports_drafts=False,
        prepares=True,
        text_length=weighted_length,
        unit="weighted characters",
        # POST /2/tweets: 200 per 15 min per user, and 300 per 3 h (docs/platforms.md §5).
        budgets=(
            PublishBudget(limit=200, window=timedelta(minutes=15)),
            PublishBudget(limit=300, window=timedelta(hours=3)),
        ),
        # docs/platforms.md §5: up to 4 images or 1 video/GIF.
        # Alt text: at most 1,000 characters (media metadata, §5).
        media=MediaRules(video_alone=True, max_file_bytes=MAX_FILE_BYTES, max_alt_chars=1000),
        # A reply is a tweet: the same 280 and the same media. X's API documents no cap on a
        # thread's length, so crier's own default of 25 parts applies.
        parts=PartRules(kind="reply", max_parts=25, max_text_length=280, media_allowed=True),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)
        self._uploads = XMedia(self._api, media)

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Uploads each image; `processing` lists those X must still process before use."""
        uploads = [
            await self._uploads.upload(account, url, content.alt(index))
            for index, url in enumerate(content.media_urls)
        ]
        ids: dict[str, Any] = {"media_ids": [media_id for media_id, _ in uploads]}
        if processing := [media_id for media_id, pending in uploads if pending]:
            ids["processing"] = processing
        return Preparation(ids=ids)

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        return await self._uploads.readiness(account, prepared.ids.get("processing", []))

    async def publish(
        self,
        account: Credentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        media_ids = (prepared or Preparation()).ids.get("media_ids")
        if content.media_urls and not media_ids:
            media_ids = (await self.prepare(account, content)).ids["media_ids"]
        return await self._tweet(account, tweet_text(content), media_ids)

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The part as a reply to the one before it, its media uploaded and usable first."""
        prepared = await self._ready_media(account, content) if content.media_urls else None
        media_ids = prepared.ids["media_ids"] if prepared else None
        parent = position.parent.external_id
        return await self._tweet(account, tweet_text(content), media_ids, reply_to=parent)

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The user's reply to the part's parent with its text, made since `since`. Each try
        uploads its own media, so any media of the reply's will do."""
        media_ids: list[str] | None = None if content.media_urls else []
        reply_to = position.parent.external_id
        return await self._find(account, tweet_text(content), media_ids, since, reply_to)

    async def _tweet(
        self,
        account: Credentials,
        text: str,
        media_ids: list[str] | None,
        reply_to: str | None = None,
    ) -> Published:
        body: dict[str, Any] = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": reply_to}
        try:
            created = await self._api.call("POST", "/2/tweets", account, json=body)
        except ContentError as refused:
            duplicate = DUPLICATE_DETAIL in refused.message
            if duplicate and (own := await self._own_duplicate(account, text, media_ids, reply_to)):
                return own
            raise
        return published(str(created["data"]["id"]))

    async def _ready_media(self, account: Credentials, content: PostContent) -> Preparation:
        """The part's media uploaded and processed, waiting as long as X asks between reads."""
        prepared = await self.prepare(account, content)
        for _ in range(PART_MEDIA_CHECKS):
            readiness = await self.check(account, prepared)
            if readiness.state == "ready":
                return prepared
            if readiness.state == "failed":
                raise ContentError(f"media refused: {readiness.reason}", platform="x")
            await asyncio.sleep((readiness.check_after or timedelta(seconds=1)).total_seconds())
        # Nothing was posted: the next try uploads afresh.
        raise TransientError("the part's media is still processing", platform="x", maybe_sent=False)

    async def _own_duplicate(
        self,
        account: Credentials,
        text: str,
        media_ids: list[str] | None,
        reply_to: str | None = None,
    ) -> Published | None:
        """X refuses a repeated text with a 403 "duplicate content" that names no tweet: the
        earlier tweet is this target's own attempt only if it carries the media this target's
        `prepare` uploaded, which no other tweet can. An uploaded id lives a day, so no such
        tweet is older. A text-only duplicate stays a refusal: nothing tells a retry from a
        genuine repeat, and `find_published` already looked."""
        if not media_ids:
            return None
        try:
            since = datetime.now(UTC) - MEDIA_TTL
            return await self._find(account, text, media_ids, since, reply_to)
        except NotCheckable:
            return None  # unprovable: the refusal stands (a transient failure goes up: unknown)

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The user's tweet made since `since` with this text and media, if any."""
        media_ids = prepared.ids.get("media_ids")
        if media_ids is None and not content.media_urls:
            media_ids = []  # no media: a tweet carrying some is another
        return await self._find(account, tweet_text(content), media_ids, since=since)

    async def _find(
        self,
        account: Credentials,
        text: str,
        media_ids: list[str] | None,
        since: datetime,
        reply_to: str | None = None,
    ) -> Published | None:
        """The tweet `publish` would make of `text` and `media_ids` in reply to `reply_to`
        (None: a post), made at or after `since`."""
        path = f"/2/users/{account.external_id}/tweets"
        params = timeline_params(since, page_size=LOOKUP_PAGE_SIZE)

        async def read(token: str | None) -> Page[dict[str, Any]]:
            paged = {**params, "pagination_token": token} if token else params
            try:
                page = await self._api.call("GET", path, account, params=paged)
            except AuthError as exc:
                if exc.http_status != 403:
                    raise  # 401: the token is dead; a person reconnects, then it looks again
                raise NotCheckable(
                    f"X refused to read the user's tweets ({exc.message}); reading a "
                    "timeline needs an access level that includes it"
                ) from exc
            return Page(page.get("data") or [], (page.get("meta") or {}).get("next_token"))

        beyond = (
            f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} tweets since "
            f"{since.isoformat()}; the lookup stops there"
        )
        async for tweet in walk(read, max_pages=LOOKUP_MAX_PAGES, beyond=beyond):
            if is_the_tweet(tweet, text, media_ids, reply_to):
                return published(str(tweet["id"]))
        return None
