"""Pinterest through API v5 (PLATFORMS.md §8).

A pin goes to a board: the account's external id is the board id. An image pin is one call
(Pinterest fetches the image from its URL). A video is registered (`POST /v5/media`), uploaded
to the `upload_url` Pinterest hands back, and processed before a pin may name it: `prepare`
registers and uploads, `check` reads the processing status, `publish` creates the pin. Image
pins need none of that, so their `prepare` returns an empty Preparation and `check` is ready.

Pinterest takes no idempotency key and names no duplicate, so after a lost answer
`find_published` reads the board's pins (`GET /v5/boards/{board_id}/pins`, newest first) for
one made since the attempt began with the title and description `publish` sends and the same
kind of media. Pinterest keeps its own copy of an image, so the source URL cannot be compared.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
    retry_after,
)
from providers.http import answered

# HTTP status → taxonomy. Pinterest's `code` is not documented finely enough to map on, so
# the status decides; a 5xx is transient and any other 4xx refuses this content.
ERRORS: dict[int, type[ProviderError]] = {
    400: ContentError,  # validation: too long, bad media source
    401: AuthError,  # bad or expired token
    403: AuthError,  # the token lacks a scope or the board is not the user's to pin to
    404: ContentError,  # "Board not found": retrying the same board cannot help
    429: RateLimitedError,
}
# No Retry-After documented (header names are (U)): standard access has per-category
# per-minute limits beside 100 req/s, so waiting a minute clears whichever was hit.
RATE_LIMIT_WINDOW = timedelta(minutes=1)
MAX_TITLE = 100
MAX_DESCRIPTION = 500  # clients cut at 500; the spec may allow 800 (PLATFORMS.md §8)
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
PUBLIC_URL = "https://www.pinterest.com/pin/{id}/"
LOOKUP_PAGE_SIZE = 100  # the board pins list takes 1 to 250
MAX_LOOKUP_PAGES = 3


def is_video(url: str) -> bool:
    return url.lower().split("?", 1)[0].endswith(VIDEO_SUFFIXES)


def pin_title(content: PostContent) -> str:
    """The title the person gave, else the text's first line cut to fit.

    A given title is sent whole, so Pinterest refuses one too long rather than crier cutting
    words a person chose; the first line is only a stand-in, and the text travels whole as
    the description anyway.
    """
    if content.title is not None:
        return content.title
    return content.text.strip().split("\n", 1)[0][:MAX_TITLE]


class PinterestProvider:
    platform: ClassVar[Platform] = Platform.PINTEREST
    # `prepares` is per platform: video pins need the media flow, image pins skip it.
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_DESCRIPTION,
        max_media=1,
        requires_media=True,
        supports_drafts=False,
        prepares=True,
        # PLATFORMS.md §8 takes image URLs and video uploads but states no media limits.
        media=MediaRules(),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/v5"

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        videos = [url for url in content.media_urls if is_video(url)]
        if not videos:
            return Preparation()
        # Download first: a media URL that fails leaves no registration behind to expire.
        data, media_type = await self._download(videos[0])
        registered = await self._call("POST", "/media", account, json={"media_type": "video"})
        media_id = str(registered["media_id"])
        await self._upload(
            registered["upload_url"], registered["upload_parameters"], data, media_type
        )
        return Preparation(ids={"media_id": media_id})

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        media_id = prepared.ids.get("media_id")
        if media_id is None:
            return READY
        found = await self._call("GET", f"/media/{media_id}", account)
        status = found.get("status")
        if status == "succeeded":
            return READY
        if status == "failed":
            # Pinterest gives a status and nothing more: that is all the reason there is.
            return Readiness(
                state="failed", reason=f"pinterest: the video failed to process (media {media_id})"
            )
        # registered (upload not yet seen) or processing; no hint, so the workflow's interval.
        return Readiness(state="pending")

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        draft: bool = False,
    ) -> Published:
        body: dict[str, Any] = {
            "board_id": account.external_id,
            "title": pin_title(content),
            "description": content.text,
            "media_source": self._media_source(content, prepared),
        }
        if content.link:
            body["link"] = content.link
        if alt_text := content.options.get("alt_text"):
            body["alt_text"] = str(alt_text)
        created = await self._call("POST", "/pins", account, json=body)
        pin_id = str(created["id"])
        return Published(external_id=pin_id, url=PUBLIC_URL.format(id=pin_id))

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        path = f"/boards/{account.external_id}/pins"
        params: dict[str, Any] = {"page_size": LOOKUP_PAGE_SIZE}
        for _ in range(MAX_LOOKUP_PAGES):
            try:
                page = await self._call("GET", path, account, params=params)
            except AuthError as error:
                if error.http_status != 403:
                    raise
                # The token may pin but not read this board (a secret board needs
                # pins:read_secret): looking is impossible, not a reason to fail the post.
                raise NotCheckable(f"the board's pins cannot be read: {error.message}") from None
            pins: list[dict[str, Any]] = page.get("items") or []
            for pin in pins:
                if pin_matches(pin, content, since):
                    pin_id = str(pin["id"])
                    return Published(external_id=pin_id, url=PUBLIC_URL.format(id=pin_id))
            # Newest first: a page that reaches back past `since` holds everything newer.
            if not page.get("bookmark") or any(created_before(pin, since) for pin in pins):
                return None
            params["bookmark"] = page["bookmark"]
        raise NotCheckable(
            f"the board got over {MAX_LOOKUP_PAGES * LOOKUP_PAGE_SIZE} pins since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back"
        )

    def _media_source(self, content: PostContent, prepared: Preparation) -> dict[str, Any]:
        url = content.media_urls[0] if content.media_urls else ""
        if not is_video(url):
            return {"source_type": "image_url", "url": url}
        media_id = prepared.ids.get("media_id")
        if media_id is None:
            # Uploading here would pin a video Pinterest has not processed, which it refuses.
            raise ContentError("a video pin needs its media prepared first", platform="pinterest")
        source: dict[str, Any] = {"source_type": "video_id", "media_id": str(media_id)}
        # Video pins need a cover: the person's image if given, else the first frame.
        if cover := content.options.get("cover_image_url"):
            source["cover_image_url"] = str(cover)
        else:
            source["cover_image_key_frame_time"] = 0
        return source

    async def _download(self, url: str) -> tuple[bytes, str]:
        # The media host is not Pinterest: it never sees the token, and its failures say
        # nothing about the account.
        response = await self._send("GET", url, follow_redirects=True)
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(
                f"media download: HTTP {response.status_code}", platform="pinterest"
            )
        if not response.is_success or not response.content:
            raise ContentError(
                f"media {url} unusable: HTTP {response.status_code}", platform="pinterest"
            )
        declared = response.headers.get("content-type", "").split(";")[0].strip()
        return response.content, declared or mimetypes.guess_type(url)[0] or "video/mp4"

    async def _upload(
        self, upload_url: str, parameters: dict[str, Any], data: bytes, media_type: str
    ) -> None:
        # A presigned form post: the parameters are its credentials, so no bearer token.
        fields = {key: str(value) for key, value in parameters.items()}
        response = await self._send(
            "POST", upload_url, data=fields, files={"file": ("video", data, media_type)}
        )
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"video upload: HTTP {status}", platform="pinterest")
        if not response.is_success:
            raise ContentError(f"video upload refused: HTTP {status}", platform="pinterest")

    async def _call(
        self, method: str, path: str, account: AccountCredentials, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {account.access_token}"}
        response = await self._send(method, self._base + path, headers=headers, **kwargs)
        if response.is_success:
            data: dict[str, Any] = response.json() if response.content else {}
            return data
        raise pinterest_error(response)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await answered("pinterest", self._http.request(method, url, **kwargs))


def pin_created(pin: dict[str, Any]) -> datetime | None:
    """A pin's `created_at`: ISO 8601 in UTC, sent without an offset."""
    try:
        created = datetime.fromisoformat(str(pin.get("created_at")))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def created_before(pin: dict[str, Any], since: datetime) -> bool:
    created = pin_created(pin)
    return created is not None and created < since


def pin_matches(pin: dict[str, Any], content: PostContent, since: datetime) -> bool:
    """Is this the pin `publish` makes for `content`: made since the attempt began, with the
    same title, description and kind of media? The link is not compared: Pinterest may
    rewrite it, and a pin missed for that would be posted twice."""
    created = pin_created(pin)
    media_type = (pin.get("media") or {}).get("media_type")
    wanted_type = "video" if content.media_urls and is_video(content.media_urls[0]) else "image"
    return (
        created is not None
        and created >= since.replace(microsecond=0)  # created_at keeps whole seconds
        and pin.get("title") == pin_title(content)
        and pin.get("description") == content.text
        and media_type in (None, wanted_type)
    )


def pinterest_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        error = response.json()
        message, code = str(error["message"]), error.get("code")
    except (ValueError, KeyError, TypeError):
        message, code = f"HTTP {status}", None  # not Pinterest's shape: a proxy's page
    common: dict[str, Any] = {
        "platform": "pinterest",
        "code": str(code) if code is not None else None,
        "http_status": status,
    }
    if status == 429:
        wait = retry_after(response.headers) or RATE_LIMIT_WINDOW
        return RateLimitedError(message, retry_after=wait, **common)
    if status >= 500:
        return TransientError(message, **common)
    return ERRORS.get(status, ContentError)(message, **common)
