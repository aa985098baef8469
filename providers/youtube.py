"""YouTube through the Data API v3 resumable upload (PLATFORMS.md §10).

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
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from core.status import Platform
from providers.base import (
    READY,
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

# errors[0].reason → taxonomy (PLATFORMS.md §10, Postiz youtube). Anything else falls back on the
# HTTP status: 401/403 AuthError, 429 RateLimitedError, 5xx TransientError, other 4xx ContentError.
AUTH_REASONS = frozenset({"authError", "forbidden", "insufficientPermissions"})
# A person must create the channel first: no retry helps.
NO_CHANNEL_REASONS = frozenset({"youtubeSignupRequired"})
DAILY_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})  # midnight Pacific
UPLOAD_CAP_REASONS = frozenset({"uploadLimitExceeded"})  # the channel's daily cap: 24 h
SHORT_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
TRANSIENT_REASONS = frozenset({"backendError", "internalError"})
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")
UPLOAD_CAP_WAIT = timedelta(hours=24)

MAX_TITLE = 100
MAX_DESCRIPTION = 5000
WATCH_URL = "https://www.youtube.com/watch?v={id}"
RESUME_INCOMPLETE = 308  # the session's "send the rest" answer, never a redirect here
LOOKUP_PAGE_SIZE = 50  # search.list's maxResults at most
MAX_LOOKUP_PAGES = 2  # each search costs 100 quota units


def utf8_length(text: str) -> int:
    return len(text.encode())


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
        media=MediaRules(images_allowed=False),  # a video upload (PLATFORMS.md §10)
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        """Opens the upload session; the session URI is an id, the token stays in headers."""
        data, media_type = await self._download(content.media_urls[0])
        privacy = "private" if draft else str(content.options.get("privacy", "public"))
        body = {
            "snippet": {
                "title": video_title(content),
                "description": content.text,
                "tags": list(content.options.get("tags", [])),
            },
            "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": False},
        }
        opened = await self._call(
            "POST",
            self._base + "/upload/youtube/v3/videos",
            account,
            params={"uploadType": "resumable", "part": "snippet,status"},
            headers={
                "X-Upload-Content-Length": str(len(data)),
                "X-Upload-Content-Type": media_type,
            },
            json=body,
        )
        session = opened.headers.get("location")
        if not session:
            raise TransientError(
                "the upload session answered without a Location", platform="youtube"
            )
        if account.access_token in session or "access_token=" in session:
            # The Preparation is written to Temporal history, where no credential may go.
            raise AuthError("the upload session URI carries a credential", platform="youtube")
        return Preparation(ids={"session": session, "bytes": len(data), "type": media_type})

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        # Nothing exists to wait for until publish sends the bytes; processing follows after.
        return READY

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        draft: bool = False,
    ) -> Published:
        if "session" not in prepared.ids:  # called without prepare, as the other providers allow
            prepared = await self.prepare(account, content, draft=draft)
        session, total = str(prepared.ids["session"]), int(prepared.ids["bytes"])
        # Asked every time: this call cannot tell a retry from a first try, and a session that
        # already holds every byte answers with the video it made.
        status = await self._call(
            "PUT", session, account, headers={"Content-Range": f"bytes */{total}"}
        )
        if status.status_code != RESUME_INCOMPLETE:
            return published(status)
        offset = received_bytes(status)
        data, _ = await self._download(content.media_urls[0])
        if len(data) != total:
            raise ContentError(
                f"the media changed since prepare ({len(data)} bytes, not {total})",
                platform="youtube",
            )
        headers = {"Content-Type": str(prepared.ids["type"])}
        if offset:
            headers["Content-Range"] = f"bytes {offset}-{total - 1}/{total}"
        done = await self._call("PUT", session, account, headers=headers, content=data[offset:])
        if done.status_code == RESUME_INCOMPLETE:
            raise TransientError(
                "the session still lacks bytes after the upload", platform="youtube"
            )
        return published(done)

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        if "session" in prepared.ids:
            session, total = str(prepared.ids["session"]), int(prepared.ids["bytes"])
            try:
                status = await self._call(
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
        self, account: AccountCredentials, content: PostContent, *, since: datetime
    ) -> Published | None:
        """The channel's video uploaded since `since` with the title and description `prepare`
        sends. search.list refuses publishedAfter beside forMine, so `order=date` and a stop
        at the first older video stand in for it."""
        params: dict[str, Any] = {
            "part": "snippet",
            "forMine": "true",
            "type": "video",
            "order": "date",
            "maxResults": LOOKUP_PAGE_SIZE,
        }
        for _ in range(MAX_LOOKUP_PAGES):
            page = (
                await self._call("GET", self._base + "/youtube/v3/search", account, params=params)
            ).json()
            items: list[dict[str, Any]] = page.get("items") or []
            recent = [
                str(item["id"]["videoId"])
                for item in items
                if (uploaded := parse_time(item.get("snippet", {}).get("publishedAt")))
                and uploaded >= since
            ]
            if recent and (found := await self._matching(account, content, recent)):
                return found
            if len(recent) < len(items) or not page.get("nextPageToken"):
                return None
            params["pageToken"] = page["nextPageToken"]
        raise NotCheckable(
            f"the channel uploaded over {MAX_LOOKUP_PAGES * LOOKUP_PAGE_SIZE} videos since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back"
        )

    async def _matching(
        self, account: AccountCredentials, content: PostContent, video_ids: list[str]
    ) -> Published | None:
        listed = await self._call(
            "GET",
            self._base + "/youtube/v3/videos",
            account,
            params={"part": "snippet", "id": ",".join(video_ids)},
        )
        for video in listed.json().get("items") or []:
            snippet = video.get("snippet") or {}
            if snippet.get("title") == video_title(content) and (
                snippet.get("description") == content.text
            ):
                return Published(external_id=str(video["id"]), url=WATCH_URL.format(id=video["id"]))
        return None

    async def _download(self, url: str) -> tuple[bytes, str]:
        # The media host is not YouTube: it never sees the token, and its failures are not ours.
        try:
            response = await self._http.get(url, follow_redirects=True)
        except httpx.TransportError as exc:
            raise TransientError(
                f"media download failed: {type(exc).__name__}", platform="youtube"
            ) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"media download: HTTP {status}", platform="youtube")
        if not response.is_success or not response.content:
            raise ContentError(f"media {url} unusable: HTTP {status}", platform="youtube")
        declared = response.headers.get("content-type", "").split(";")[0].strip()
        media_type = declared or mimetypes.guess_type(url)[0] or "application/octet-stream"
        if not media_type.startswith("video/") and media_type != "application/octet-stream":
            raise ContentError(f"YouTube takes video only, not {media_type}", platform="youtube")
        return response.content, media_type

    async def _call(
        self, method: str, url: str, account: AccountCredentials, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account.access_token}", **kwargs.pop("headers", {})}
        response = await answered(
            "youtube",
            self._http.request(method, url, headers=headers, follow_redirects=False, **kwargs),
        )
        if response.is_success or response.status_code == RESUME_INCOMPLETE:
            return response
        if method == "PUT" and response.status_code in (404, 410):
            # Sessions expire (about a week); a new one needs a new prepare.
            raise ContentError(
                "the upload session expired", platform="youtube", http_status=response.status_code
            )
        raise youtube_error(response)


def video_title(content: PostContent) -> str:
    if content.title:
        return content.title
    first_line = content.text.strip().split("\n", 1)[0].strip()
    return first_line[:MAX_TITLE]


def parse_time(raw: object) -> datetime | None:
    """An RFC 3339 time as YouTube writes it (`2026-01-01T00:00:00Z`)."""
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def received_bytes(response: httpx.Response) -> int:
    """How many bytes a 308 says the session holds: `Range: bytes=0-N`, absent when none."""
    raw = response.headers.get("range", "")
    _, _, last = raw.partition("-")
    return int(last) + 1 if last.strip().isdigit() else 0


def published(response: httpx.Response) -> Published:
    try:
        video_id = str(response.json()["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TransientError(
            f"the upload finished without a video id (HTTP {response.status_code})",
            platform="youtube",
        ) from exc
    return Published(external_id=video_id, url=WATCH_URL.format(id=video_id))


def youtube_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        error = response.json()["error"]
        message = str(error["message"])
        reason = str((error.get("errors") or [{}])[0].get("reason") or "") or None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return from_http_status(status, response.headers, platform="youtube")
    common: dict[str, Any] = {"platform": "youtube", "code": reason, "http_status": status}
    if reason in DAILY_QUOTA_REASONS:
        return RateLimitedError(message, retry_after=until_pacific_midnight(), **common)
    if reason in UPLOAD_CAP_REASONS:
        return RateLimitedError(message, retry_after=UPLOAD_CAP_WAIT, **common)
    if reason in SHORT_LIMIT_REASONS or status == 429:
        return RateLimitedError(message, retry_after=retry_after(response.headers), **common)
    if status == 401 or reason in AUTH_REASONS or reason in NO_CHANNEL_REASONS:
        return AuthError(message, **common)
    if status >= 500 or reason in TRANSIENT_REASONS:
        return TransientError(message, **common)
    if status == 403:
        return AuthError(message, **common)
    return ContentError(message, **common)


def until_pacific_midnight(now: datetime | None = None) -> timedelta:
    """YouTube's daily quota resets at midnight Pacific time (determine_quota_cost)."""
    now = (now or datetime.now(QUOTA_TIMEZONE)).astimezone(QUOTA_TIMEZONE)
    tomorrow = (now + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=QUOTA_TIMEZONE)
    # In UTC: aware datetimes sharing a tzinfo subtract as wall clocks, wrong across DST.
    return midnight.astimezone(UTC) - now.astimezone(UTC)
