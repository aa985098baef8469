"""TikTok through the Content Posting API (docs/platforms.md §9): video only, pulled from its URL.

TikTok publishes at init (`POST /v2/post/publish/video/init/`, or the inbox init for a draft):
init is itself the irreversible step, and TikTok then downloads, processes and posts with no
further call from us. So `prepare` reads creator_info and calls init: it is the mutation, hence
`publishes_at_prepare`, and the attempt ledger guards it (TikTok takes no idempotency key, and a
retried init after one whose answer was lost would post twice). `check` polls the publish_id's
status until TikTok has finished (or failed); `publish` makes no change: it reads the final
status once more and reports the post.

`find_published` reads the publish_id's status when it has one. When init's answer was lost
there is none, and the only lookup left is the Display API's list of the creator's public videos
(`POST /v2/video/list/`, scope video.list), matched on the caption and a create_time since the
attempt began. A video is listed only once TikTok has downloaded, processed and moderated it,
and only if public; a draft goes to the inbox and never is. So a video not listed may still be
on its way: that is `NotCheckable`, never "not there", and the target ends `unconfirmed`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    Credentials,
    MediaRules,
    NotCheckable,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)
from providers.kit.api import PlatformAPI
from providers.kit.error_table import ErrorTable, Problem
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.kit.text import utf16_length
from providers.tiktok_envelope import unwrapped
from providers.tiktok_lookup import is_the_video, public_post, reaches_back_past, reported
from providers.tiktok_options import post_info, privacy_for


def window(wait: timedelta) -> Callable[[Mapping[str, str]], timedelta]:
    return lambda headers: retry_after(headers) or wait


# TikTok's error.code → the taxonomy (docs/platforms.md §9), whatever the HTTP status. A banned user
# needs a person, not a retry, so it is an account problem (AuthError). Codes not listed fall
# back to the HTTP status. TikTok sends no Retry-After; its request limits are per token per
# minute, and the post cap is daily, so wait out the window the code names.
ERRORS = ErrorTable(
    platform="tiktok",
    codes={
        "access_token_invalid": AuthError,
        "scope_not_authorized": AuthError,
        "scope_permission_missed": AuthError,
        "spam_risk_user_banned_from_posting": AuthError,
        "invalid_params": ContentError,
        "invalid_file_upload": ContentError,
        "privacy_level_option_mismatch": ContentError,
        "rate_limit_exceeded": RateLimitedError,
        "spam_risk_too_many_posts": RateLimitedError,
        "internal_error": TransientError,
    },
    waits={
        "rate_limit_exceeded": window(timedelta(minutes=1)),
        "spam_risk_too_many_posts": window(timedelta(hours=24)),
    },
    codes_beat_5xx=True,
)


def tiktok_error(code: str, message: str, response: httpx.Response) -> ProviderError:
    """The error an envelope's `error` names, on a success too."""
    return ERRORS.classify(response.status_code, response.headers, Problem(message, code))


DONE = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX")
LISTED_PRIVACY = "PUBLIC_TO_EVERYONE"  # /v2/video/list/ shows public videos only
LIST_FIELDS = "id,title,video_description,create_time"
LOOKUP_PAGE_SIZE = 20  # video.list's max_count
LOOKUP_MAX_PAGES = 5
MISSING_SCOPE = ("scope_not_authorized", "scope_permission_missed")


class TikTokProvider:
    platform: ClassVar[Platform] = Platform.TIKTOK
    rules: ClassVar[PlatformRules] = PlatformRules(
        # 2,200 is TikTok's documented title limit (direct post reference; not in §9).
        max_text_length=2_200,
        max_media=1,
        requires_media=True,
        supports_drafts=True,
        prepares=True,
        publishes_at_prepare=True,  # init is the post (see the module docstring)
        text_length=utf16_length,
        unit="UTF-16 code units",
        # This provider posts video only (PULL_FROM_URL); docs/platforms.md §9 states no limits.
        media=MediaRules(images_allowed=False),
    )

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads | None = None
    ) -> None:
        # `media` unused: the platform fetches the media URLs itself.
        self._api = PlatformAPI(http, base_url, ERRORS)

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Starts the post (direct, or to the creator's inbox for a draft): see the module."""
        source = {"source": "PULL_FROM_URL", "video_url": content.media_urls[0]}
        if draft:
            # The person picks privacy and settings in the app when finishing the draft.
            body = {"post_info": {"title": content.text}, "source_info": source}
            started = await self._call("/v2/post/publish/inbox/video/init/", account, body)
            return Preparation(ids={"publish_id": str(started["publish_id"])})
        creator = await self._call("/v2/post/publish/creator_info/query/", account)
        body = {"post_info": post_info(content, creator), "source_info": source}
        started = await self._call("/v2/post/publish/video/init/", account, body)
        ids = {"publish_id": str(started["publish_id"])}
        if creator.get("creator_username"):
            ids["username"] = str(creator["creator_username"])  # for the public URL only
        return Preparation(ids=ids)

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        found = await self._status(account, prepared)
        status = found.get("status")
        if status in DONE:
            return Readiness(state="ready")
        if status == "FAILED":
            reason = found.get("fail_reason") or "no reason given"
            return Readiness(state="failed", reason=f"tiktok: the post failed ({reason})")
        # PROCESSING_*: TikTok names no wait, so the workflow's media poll interval applies
        # (it must stay under the 30 status reads a minute per token).
        return Readiness(state="pending")

    async def publish(
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published:
        """Reports what init already did; it never posts (a retry here is harmless)."""
        found = await self._status(account, prep)
        status = found.get("status")
        if status == "FAILED":
            reason = found.get("fail_reason") or "no reason given"
            raise ContentError(f"the post failed ({reason})", platform="tiktok", code=reason)
        if status not in DONE:
            raise TransientError(f"still {status}", platform="tiktok", code=str(status))
        return reported(found, prep, draft=draft)

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        if "publish_id" in prepared.ids:
            # Init answered, so its publish_id says exactly what became of the post; `publish`
            # itself only reads, so "not done yet" may safely let it run again.
            found = await self._status(account, prepared)
            if found.get("status") not in DONE:
                return None
            return reported(found, prepared, draft=found["status"] == "SEND_TO_USER_INBOX")
        creator = await self._call("/v2/post/publish/creator_info/query/", account)
        privacy = privacy_for(content, creator)
        if privacy != LISTED_PRIVACY:
            raise NotCheckable(f"TikTok lists public videos only, and this one would be {privacy}")
        video = await self._listed(account, content, since=since)
        if video is None:
            raise NotCheckable(
                "the video is not among the account's public videos, but one still being "
                "processed or moderated (or sent to the inbox as a draft) is not listed either"
            )
        return public_post(str(video["id"]), creator.get("creator_username"))

    async def _listed(
        self, account: Credentials, content: PostContent, *, since: datetime
    ) -> dict[str, Any] | None:
        """The newest public video captioned `content.text` and created since `since`."""

        async def read(cursor: str | None) -> Page[dict[str, Any]]:
            body = {"max_count": LOOKUP_PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            try:
                page = await self._call("/v2/video/list/", account, body, fields=LIST_FIELDS)
            except AuthError as error:
                if error.code not in MISSING_SCOPE:
                    raise
                raise NotCheckable("the token was not granted video.list") from None
            # TikTok's cursor is an int64, sent back as given.
            return Page(
                page.get("videos") or [], page.get("cursor") if page.get("has_more") else None
            )

        videos = walk(
            read,
            max_pages=LOOKUP_MAX_PAGES,
            # Newest first (by create_time): once a page reaches back past `since`, stop.
            stop=lambda videos: reaches_back_past(videos, since),
            beyond=f"the account made over {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} videos since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back",
        )
        async for video in videos:
            if is_the_video(video, content.text, since):
                return video
        return None

    async def _status(self, account: Credentials, prepared: Preparation) -> dict[str, Any]:
        body = {"publish_id": prepared.ids["publish_id"]}
        return await self._call("/v2/post/publish/status/fetch/", account, body)

    async def _call(
        self,
        path: str,
        account: Credentials,
        body: dict[str, Any] | None = None,
        *,
        fields: str | None = None,
    ) -> dict[str, Any]:
        """POST (every endpoint used here is a POST) and unwrap TikTok's envelope."""
        response = await self._api.send(
            "POST",
            path,
            account,
            headers={"Content-Type": "application/json; charset=UTF-8"},
            json=body,
            params={"fields": fields} if fields else None,
        )
        return unwrapped(response, ERRORS)
