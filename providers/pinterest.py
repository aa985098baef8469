"""Pinterest through API v5 (docs/platforms.md §8).

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

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.status import Platform
from providers.base import (
    READY,
    Credentials,
    MediaRules,
    NotCheckable,
    PlatformRules,
    PostContent,
    Preparation,
    Published,
    Readiness,
)
from providers.errors import AuthError, ContentError, ProviderError, TransientError, retry_after
from providers.kit.api import PlatformAPI
from providers.kit.error_table import ErrorTable, Problem, json_body
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from providers.pinterest_lookup import created_before, is_video, pin_matches, pin_title

# docs/platforms.md §8 states none; Pinterest takes videos up to 2 GB (its video specs).
MAX_FILE_BYTES = 2 * 1024**3
# No Retry-After documented (header names are (U)): standard access has per-category
# per-minute limits beside 100 req/s, so waiting a minute clears whichever was hit.
RATE_LIMIT_WINDOW = timedelta(minutes=1)
MAX_DESCRIPTION = 500  # clients cut at 500; the spec may allow 800 (docs/platforms.md §8)
PUBLIC_URL = "https://www.pinterest.com/pin/{id}/"
LOOKUP_PAGE_SIZE = 100  # the board pins list takes 1 to 250
LOOKUP_MAX_PAGES = 3


def read_problem(response: httpx.Response) -> Problem:
    """Pinterest's `{code, message}`; its `code` is kept for diagnosis only."""
    error = json_body(response)
    try:
        message, code = str(error["message"]), error.get("code")
    except (KeyError, TypeError, AttributeError):
        return Problem()  # not Pinterest's shape: a proxy's page
    return Problem(message, str(code) if code is not None else None)


def rate_limit_wait(headers: Mapping[str, str]) -> timedelta:
    return retry_after(headers) or RATE_LIMIT_WINDOW


# Pinterest's `code` is not documented finely enough to map on, so the status decides: 401
# and 403 (a missing scope, a board not the user's) are auth, and any other 4xx (400
# validation, 404 "Board not found") refuses this content.
ERRORS = ErrorTable(platform="pinterest", read=read_problem, wait=rate_limit_wait)


def pinterest_error(response: httpx.Response) -> ProviderError:
    return ERRORS.error(response)


class PinterestProvider:
    platform: ClassVar[Platform] = Platform.PINTEREST
    # `prepares` is per platform: video pins need the media flow, image pins skip it.
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_DESCRIPTION,
        max_media=1,
        requires_media=True,
        supports_drafts=False,
        prepares=True,
        # docs/platforms.md §8 takes image URLs and video uploads but states no media limits.
        media=MediaRules(max_alt_chars=500),  # the pin's alt_text ≤ 500 (§8)
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None:
        self._api = PlatformAPI(http, base_url.rstrip("/") + "/v5", ERRORS)
        self._media = media

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        videos = [url for url in content.media_urls if is_video(url)]
        if not videos:
            return Preparation()
        # Download first: a media URL that fails leaves no registration behind to expire.
        data, media_type = await self._download(videos[0])
        registered = await self._api.call("POST", "/media", account, json={"media_type": "video"})
        media_id = str(registered["media_id"])
        await self._upload(
            registered["upload_url"], registered["upload_parameters"], data, media_type
        )
        return Preparation(ids={"media_id": media_id})

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        media_id = prepared.ids.get("media_id")
        if media_id is None:
            return READY
        found = await self._api.call("GET", f"/media/{media_id}", account)
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
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published:
        body: dict[str, Any] = {
            "board_id": account.external_id,
            "title": pin_title(content),
            "description": content.text,
            "media_source": self._media_source(content, prep),
        }
        if content.link:
            body["link"] = content.link
        # The pin's one image's own alt text, else the older `alt_text` option (§8).
        if alt_text := content.alt(0) or content.options.get("alt_text"):
            body["alt_text"] = str(alt_text)
        created = await self._api.call("POST", "/pins", account, json=body)
        pin_id = str(created["id"])
        return Published(external_id=pin_id, url=PUBLIC_URL.format(id=pin_id))

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        path = f"/boards/{account.external_id}/pins"

        async def read(bookmark: str | None) -> Page[dict[str, Any]]:
            params = {"page_size": LOOKUP_PAGE_SIZE, **({"bookmark": bookmark} if bookmark else {})}
            try:
                page = await self._api.call("GET", path, account, params=params)
            except AuthError as error:
                if error.http_status != 403:
                    raise
                # The token may pin but not read this board (a secret board needs
                # pins:read_secret): looking is impossible, not a reason to fail the post.
                raise NotCheckable(f"the board's pins cannot be read: {error.message}") from None
            return Page(page.get("items") or [], page.get("bookmark"))

        def older(pins: Sequence[dict[str, Any]]) -> bool:
            # Newest first: a page that reaches back past `since` holds everything newer.
            return any(created_before(pin, since) for pin in pins)

        pins = walk(
            read,
            max_pages=LOOKUP_MAX_PAGES,
            stop=older,
            beyond=f"the board got over {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} pins since "
            f"{since:%Y-%m-%d %H:%M} UTC, more than crier reads back",
        )
        async for pin in pins:
            if pin_matches(pin, content, since):
                pin_id = str(pin["id"])
                return Published(external_id=pin_id, url=PUBLIC_URL.format(id=pin_id))
        return None

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
        media = await self._media.fetch(url, platform="pinterest", max_bytes=MAX_FILE_BYTES)
        return media.content, media.media_type("video/mp4")

    async def _upload(
        self, upload_url: str, parameters: dict[str, Any], data: bytes, media_type: str
    ) -> None:
        # A presigned form post: the parameters are its credentials, so no bearer token.
        fields = {key: str(value) for key, value in parameters.items()}
        response = await self._api.send(
            "POST", upload_url, None, data=fields, files={"file": ("video", data, media_type)}
        )
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"video upload: HTTP {status}", platform="pinterest")
        if not response.is_success:
            raise ContentError(f"video upload refused: HTTP {status}", platform="pinterest")
