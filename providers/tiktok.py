"""TikTok through the Content Posting API (PLATFORMS.md §9): video only, pulled from its URL.

TikTok publishes at init: `POST /v2/post/publish/video/init/` (or the inbox init for a draft)
is itself the irreversible step; TikTok then downloads, processes and posts with no further
call from us. So the three calls map honestly like this:

- `prepare` reads creator_info and calls init. This is the mutation, so the rules say
  `publishes_at_prepare` and the attempt ledger guards `prepare`: TikTok takes no idempotency
  key, and a retried init after one whose answer was lost would post the video twice.
- `check` polls the status of the publish_id until TikTok has finished (or failed).
- `publish` makes no change: it reads the final status once more and reports the post.

`find_published` reads the publish_id's status when it has one. When the init's answer was lost
there is no publish_id, and the only lookup left is the Display API's list of the creator's
public videos (`POST /v2/video/list/`, scope video.list), matched on the caption and a
create_time since the attempt began. A video only appears there once TikTok has downloaded,
processed and moderated it, and only if it is public; a draft goes to the inbox and never
does. So a video that is not listed may still be on its way: that is `NotCheckable`, never
"not there", and the target ends `unconfirmed` rather than risk a second post.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    AccountCredentials,
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
    from_http_status,
    retry_after,
)
from providers.http import answered

# TikTok's error.code → the taxonomy (PLATFORMS.md §9). A banned user needs a person, not a
# retry, so it is an account problem (AuthError). Codes not listed fall back to HTTP status.
ERRORS: dict[str, type[ProviderError]] = {
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
}
# TikTok sends no Retry-After; its request limits are per token per minute, and the post cap
# is daily, so wait out the window the code names.
RATE_WINDOWS = {
    "rate_limit_exceeded": timedelta(minutes=1),
    "spam_risk_too_many_posts": timedelta(hours=24),
}
# Least to most public: when the asked-for level is not allowed we take the most private one,
# since a post can be opened up in the app later but one shown too widely cannot be unseen.
PRIVACY_MOST_PRIVATE_FIRST = (
    "SELF_ONLY",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "PUBLIC_TO_EVERYONE",
)
# Interaction and disclosure switches a post may set through `content.options`.
POST_INFO_OPTIONS = (
    "disable_duet",
    "disable_comment",
    "disable_stitch",
    "brand_content_toggle",
    "brand_organic_toggle",
    "is_aigc",
)
PUBLIC_URL = "https://www.tiktok.com/@{user}/video/{id}"
PROCESSING = ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD")
DONE = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX")
LISTED_PRIVACY = "PUBLIC_TO_EVERYONE"  # /v2/video/list/ shows public videos only
LIST_FIELDS = "id,title,video_description,create_time"
LOOKUP_PAGE_SIZE = 20  # video.list's max_count
MAX_LOOKUP_PAGES = 5
MISSING_SCOPE = ("scope_not_authorized", "scope_permission_missed")


def utf16_length(text: str) -> int:
    # TikTok counts the title in UTF-16 runes: an emoji outside the BMP counts twice.
    return len(text.encode("utf-16-le")) // 2


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
        # This provider posts video only (PULL_FROM_URL); PLATFORMS.md §9 states no limits.
        media=MediaRules(images_allowed=False),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Starts the post (direct, or to the creator's inbox for a draft): see the module."""
        source = {"source": "PULL_FROM_URL", "video_url": content.media_urls[0]}
        if draft:
            # The person picks privacy and settings in the app when finishing the draft.
            body = {"post_info": {"title": content.text}, "source_info": source}
            started = await self._call("/v2/post/publish/inbox/video/init/", account, body)
            return Preparation(ids={"publish_id": str(started["publish_id"])})
        creator = await self._call("/v2/post/publish/creator_info/query/", account)
        post_info: dict[str, Any] = {
            "title": content.text,
            "privacy_level": choose_privacy(
                content.options.get("privacy_level"), creator.get("privacy_level_options", [])
            ),
        }
        post_info |= {
            k: bool(content.options[k]) for k in POST_INFO_OPTIONS if k in content.options
        }
        body = {"post_info": post_info, "source_info": source}
        started = await self._call("/v2/post/publish/video/init/", account, body)
        ids = {"publish_id": str(started["publish_id"])}
        if creator.get("creator_username"):
            ids["username"] = str(creator["creator_username"])  # for the public URL only
        return Preparation(ids=ids)

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
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
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        draft: bool = False,
    ) -> Published:
        """Reports what init already did; it never posts (a retry here is harmless)."""
        found = await self._status(account, prepared)
        status = found.get("status")
        if status == "FAILED":
            reason = found.get("fail_reason") or "no reason given"
            raise ContentError(f"the post failed ({reason})", platform="tiktok", code=reason)
        if status not in DONE:
            raise TransientError(f"still {status}", platform="tiktok", code=str(status))
        return reported(found, prepared, draft=draft)

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        if "publish_id" in prepared.ids:
            # Init answered, so its publish_id says exactly what became of the post; `publish`
            # itself only reads, so "not done yet" may safely let it run again.
            found = await self._status(account, prepared)
            if found.get("status") not in DONE:
                return None
            return reported(found, prepared, draft=found["status"] == "SEND_TO_USER_INBOX")
        creator = await self._call("/v2/post/publish/creator_info/query/", account)
        privacy = choose_privacy(
            content.options.get("privacy_level"), creator.get("privacy_level_options", [])
        )
        if privacy != LISTED_PRIVACY:
            raise NotCheckable(f"TikTok lists public videos only, and this one would be {privacy}")
        video = await self._listed(account, content, since=since)
        if video is None:
            raise NotCheckable(
                "the video is not among the account's public videos, but one still being "
                "processed or moderated (or sent to the inbox as a draft) is not listed either"
            )
        post_id, user = str(video["id"]), creator.get("creator_username")
        return Published(
            external_id=post_id, url=PUBLIC_URL.format(user=user, id=post_id) if user else None
        )

    async def _listed(
        self, account: AccountCredentials, content: PostContent, *, since: datetime
    ) -> dict[str, Any] | None:
        """The newest public video captioned `content.text` and created since `since`."""
        body: dict[str, Any] = {"max_count": LOOKUP_PAGE_SIZE}
        for _ in range(MAX_LOOKUP_PAGES):
            try:
                page = await self._call(
                    "/v2/video/list/", account, body, params={"fields": LIST_FIELDS}
                )
            except AuthError as error:
                if error.code not in MISSING_SCOPE:
                    raise
                raise NotCheckable("the token was not granted video.list") from None
            videos: list[dict[str, Any]] = page.get("videos") or []
            for video in videos:
                created = int(video.get("create_time") or 0)
                if created >= since.timestamp() and captioned(video, content.text):
                    return video
            # Newest first (by create_time): once a page reaches back past `since`, stop.
            oldest = min((int(v.get("create_time") or 0) for v in videos), default=0)
            if not page.get("has_more") or oldest < since.timestamp():
                return None
            body["cursor"] = page["cursor"]
        raise NotCheckable(
            f"the account made over {MAX_LOOKUP_PAGES * LOOKUP_PAGE_SIZE} videos since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back"
        )

    async def _status(self, account: AccountCredentials, prepared: Preparation) -> dict[str, Any]:
        body = {"publish_id": prepared.ids["publish_id"]}
        return await self._call("/v2/post/publish/status/fetch/", account, body)

    async def _call(
        self,
        path: str,
        account: AccountCredentials,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST (every endpoint used here is a POST) and unwrap TikTok's envelope."""
        headers = {
            "Authorization": f"Bearer {account.access_token}",
            "Content-Type": "application/json; charset=UTF-8",
        }
        response = await answered(
            "tiktok",
            self._http.post(self._base + path, headers=headers, json=body, params=params),
        )
        try:
            envelope = response.json()
            error = envelope["error"]
            code, message = str(error["code"]), str(error.get("message") or error["code"])
        except (ValueError, KeyError, TypeError):
            # Not TikTok's shape (a proxy's page, an empty 503): the HTTP status is all there is.
            raise from_http_status(
                response.status_code, response.headers, platform="tiktok"
            ) from None
        if code == "ok" and response.is_success:
            data: dict[str, Any] = envelope.get("data") or {}
            return data
        raise tiktok_error(code, message, response)


def reported(found: dict[str, Any], prepared: Preparation, *, draft: bool) -> Published:
    """The post a finished status names: its public id once moderation passed, else (and for
    an inbox draft) the publish_id, which is all there is to name it by."""
    post_ids = found.get("publicaly_available_post_id") or []  # (sic) TikTok's spelling
    if draft or not post_ids:
        return Published(external_id=str(prepared.ids["publish_id"]))
    post_id = str(post_ids[0])
    user = prepared.ids.get("username")
    url = PUBLIC_URL.format(user=user, id=post_id) if user else None
    return Published(external_id=post_id, url=url)


def captioned(video: dict[str, Any], text: str) -> bool:
    """Does the Display API show `text` as this video's caption? `title` is what init sent as
    post_info.title; `video_description` is the caption as shown, so either may carry it."""
    wanted = text.strip()
    return wanted in (
        str(video.get("video_description") or "").strip(),
        str(video.get("title") or "").strip(),
    )


def tiktok_error(code: str, message: str, response: httpx.Response) -> ProviderError:
    kind = ERRORS.get(code)
    status = response.status_code
    if kind is RateLimitedError:
        wait = retry_after(response.headers) or RATE_WINDOWS[code]
        return RateLimitedError(
            message, platform="tiktok", code=code, http_status=status, retry_after=wait
        )
    if kind is None:
        fallback = from_http_status(status, response.headers, platform="tiktok", message=message)
        fallback.code = code
        return fallback
    return kind(message, platform="tiktok", code=code, http_status=status)


def choose_privacy(wanted: object, allowed: list[str]) -> str:
    """The level asked for if the creator allows it, else the most private one they allow."""
    if wanted in allowed:
        return str(wanted)
    for level in PRIVACY_MOST_PRIVATE_FIRST:
        if level in allowed:
            return level
    raise ContentError(
        f"the creator allows no known privacy level ({allowed})",
        platform="tiktok",
        code="privacy_level_option_mismatch",
    )
