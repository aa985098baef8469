"""YouTube through the Data API v3 resumable upload (docs/platforms.md §10).

The upload itself creates the video, so it is the mutation. `prepare` downloads the file (for its
length and type) and opens a resumable session, which makes nothing yet; `check` has nothing to
wait for; `publish` sends the bytes. A session survives a dropped connection, so `publish` first
asks it how much it already holds: a retried publish resumes or finds the finished video, and
never uploads a second one. A draft is the video uploaded with privacyStatus "private".

`find_published` asks the same of the session after a lost answer: a session holding every byte
answers with its video. A session that holds none (or is gone: sessions expire after about a
week) cannot speak for an attempt made through another session, such as one a run of the
target before this one opened; then the channel's own videos are searched (search.list
`forMine`, newest first; its snippets are cut short, so videos.list gives the full title and
description to match) for one uploaded since the attempt began. Whether search shows private
videos is not documented (U): a draft uploaded through another run's session may go unseen.

A first comment is a top-level comment thread the channel writes on its own video
(commentThreads.insert); a lost one is looked for among the video's threads, newest first, by
the channel as author and the exact original text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import httpx

from core.status import Platform
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
from providers.errors import ContentError, TransientError
from providers.kit.api import PlatformAPI
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.kit.text import utf8_length
from providers.youtube_comments import comment_published, is_own_thread, new_thread, threads_since
from providers.youtube_errors import ERRORS
from providers.youtube_lookup import MINE_NEWEST_FIRST, is_the_video, uploaded_since
from providers.youtube_upload import (
    RESUME_INCOMPLETE,
    WATCH_URL,
    published,
    received_bytes,
    session_answer,
    session_uri,
    short_problem,
    the_rest,
    upload_params,
    video_resource,
    video_type,
)

MAX_DESCRIPTION = 5000
# docs/platforms.md §10 states none; YouTube takes files up to 256 GB (its upload help), so
# the worker's own ceiling (CRIER_MEDIA_PUBLISH_MAX_BYTES) is the limit in practice.
MAX_FILE_BYTES = 256 * 1024**3
LOOKUP_PAGE_SIZE = 50  # search.list's maxResults at most
LOOKUP_MAX_PAGES = 2  # each search costs 100 quota units
COMMENTS_PAGE_SIZE = 100  # commentThreads.list's maxResults at most; each list costs 1 unit
COMMENTS_MAX_PAGES = 5


class YouTubeProvider:
    platform: ClassVar[Platform] = Platform.YOUTUBE
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_DESCRIPTION,
        max_media=1,
        # The description limit is 5000 bytes of UTF-8 (videos resource reference), not characters.
        text_length=utf8_length,
        unit="bytes (UTF-8)",
        requires_media=True,
        supports_drafts=True,  # uploaded with privacyStatus "private"
        prepares=True,
        media=MediaRules(images_allowed=False),  # a video upload (docs/platforms.md §10)
        # One first comment. 10,000 characters: commentThreads.insert names the refusal
        # (commentTextTooLong) but not the number; 10,000 is YouTube's limit as widely reported (U).
        parts=PartRules(kind="comment", max_parts=1, max_text_length=10_000, media_allowed=False),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None:
        self._api = PlatformAPI(http, base_url, ERRORS)
        self._media = media

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Opens the upload session; the session URI is an id, the token stays in headers."""
        data, media_type = await self._download(content.media_urls[0])
        if problem := short_problem(content, data):
            raise ContentError(problem, platform="youtube")
        opened = await self._answer(
            "POST",
            "/upload/youtube/v3/videos",
            account,
            params=upload_params(content),
            headers={
                "X-Upload-Content-Length": str(len(data)),
                "X-Upload-Content-Type": media_type,
            },
            json=video_resource(content, draft=draft),
        )
        session = session_uri(opened, account)
        return Preparation(ids={"session": session, "bytes": len(data), "type": media_type})

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        # Nothing exists to wait for until publish sends the bytes; processing follows after.
        return READY

    async def publish(
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published:
        if "session" not in prep.ids:  # called without prepare, as the other providers allow
            prep = await self.prepare(account, content, draft=draft)
        session, total = str(prep.ids["session"]), int(prep.ids["bytes"])
        # Asked every time: this call cannot tell a retry from a first try, and a session that
        # already holds every byte answers with the video it made.
        status = await self._answer(
            "PUT", session, account, headers={"Content-Range": f"bytes */{total}"}
        )
        if status.status_code != RESUME_INCOMPLETE:
            return published(status)
        offset = received_bytes(status)
        data, _ = await self._download(content.media_urls[0])
        headers, rest = the_rest(data, prep, offset)
        done = await self._answer("PUT", session, account, headers=headers, content=rest)
        if done.status_code == RESUME_INCOMPLETE:
            raise TransientError(
                "the session still lacks bytes after the upload", platform="youtube"
            )
        return published(done)

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        if "session" in prepared.ids:
            session, total = str(prepared.ids["session"]), int(prepared.ids["bytes"])
            try:
                status = await self._answer(
                    "PUT", session, account, headers={"Content-Range": f"bytes */{total}"}
                )
            except ContentError as error:
                if error.http_status not in (404, 410):
                    raise
            else:
                if status.status_code != RESUME_INCOMPLETE:
                    return published(status)
                if received_bytes(status):
                    # Bytes arrived, so this run's tries upload through this session, and
                    # the latest attempt was one of them: no video yet means none was made.
                    return None
        return await self._find_uploaded(account, content, since=since)

    async def _find_uploaded(
        self, account: Credentials, content: PostContent, *, since: datetime
    ) -> Published | None:
        """The channel's video uploaded since `since` with the title and description `prepare`
        sends (search.list's own videos, newest first: see MINE_NEWEST_FIRST)."""
        params: dict[str, Any] = {**MINE_NEWEST_FIRST, "maxResults": LOOKUP_PAGE_SIZE}

        async def read(token: str | None) -> Page[list[str]]:
            paged = {**params, "pageToken": token} if token else params
            page = await self._api.call("GET", "/youtube/v3/search", account, params=paged)
            items: list[dict[str, Any]] = page.get("items") or []
            recent = uploaded_since(items, since)
            # Newest first: a page with an older video holds every one since `since`.
            last = len(recent) < len(items) or not page.get("nextPageToken")
            # One item per page: its recent ids, matched in one videos.list call.
            return Page([recent], None if last else page["nextPageToken"])

        pages = walk(
            read,
            max_pages=LOOKUP_MAX_PAGES,
            beyond=f"the channel uploaded over {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} videos "
            f"since {since:%Y-%m-%d %H:%M} UTC, more than crier reads back",
        )
        async for recent in pages:
            if recent and (found := await self._matching(account, content, recent)):
                return found
        return None

    async def _matching(
        self, account: Credentials, content: PostContent, video_ids: list[str]
    ) -> Published | None:
        listed = await self._api.call(
            "GET",
            "/youtube/v3/videos",
            account,
            params={"part": "snippet", "id": ",".join(video_ids)},
        )
        for video in listed.get("items") or []:
            if is_the_video(video, content):
                return Published(external_id=str(video["id"]), url=WATCH_URL.format(id=video["id"]))
        return None

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published:
        """The first comment, a top-level thread by the channel on its own video."""
        video = position.root.external_id
        thread = new_thread(account.external_id, video, content.text)
        params = {"part": "snippet"}
        created = await self._api.call(
            "POST", "/youtube/v3/commentThreads", account, params=params, json=thread
        )
        return comment_published(video, created)

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None:
        """The channel's own thread on the video with exactly this text, since `since`."""
        video = position.root.external_id
        params = {"part": "snippet", "videoId": video, "order": "time", "textFormat": "plainText"}

        async def read(token: str | None) -> Page[dict[str, Any]]:
            paged = params | {"maxResults": str(COMMENTS_PAGE_SIZE)}
            paged |= {"pageToken": token} if token else {}
            page = await self._api.call("GET", "/youtube/v3/commentThreads", account, params=paged)
            return threads_since(page, since)

        beyond = f"more than {COMMENTS_PAGE_SIZE * COMMENTS_MAX_PAGES} comments on {video}"
        async for thread in walk(read, max_pages=COMMENTS_MAX_PAGES, beyond=beyond):
            if is_own_thread(thread, account.external_id, content.text):
                return comment_published(video, thread)
        return None

    async def _download(self, url: str) -> tuple[bytes, str]:
        media = await self._media.fetch(url, platform="youtube", max_bytes=MAX_FILE_BYTES)
        return media.content, video_type(media.media_type())

    async def _answer(
        self, method: str, path: str, account: Credentials, **kwargs: Any
    ) -> httpx.Response:
        """The answer itself (a session's Location, a 308's Range), never a redirect followed."""
        response = await self._api.send(method, path, account, follow_redirects=False, **kwargs)
        return session_answer(method, response, ERRORS)
