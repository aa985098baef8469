"""Google Business Profile local posts through the v4 API (docs/platforms.md §6).

Posts to the location `Credentials.external_id` names (`accounts/{a}/locations/{l}`).
Creating a LocalPost is one call: photos travel as `sourceUrl`s Google fetches itself (byte
upload does not work for posts), so there is nothing to prepare.

The 200 answer says `PROCESSING`, not `LIVE`: Google reviews the post afterwards and may set it
`REJECTED` later. Following it there (a read-only `check` after publish) is out of scope here;
the post counts as published once Google has accepted it.

After a publish whose answer was lost, `find_published` lists the location's local posts
(`GET .../localPosts`, pageSize/pageToken) for one created since the attempt began with the
summary, topic, call to action, event title and photo count `publish` sends. Google documents
no order for the list, so every page is read, up to a cap; past it the lookup cannot be sure,
and raises NotCheckable. A post Google has since rejected still counts: it is the attempt's
own, and posting again would make a second. Google has no duplicate refusal to recover from.

Choices from `PostContent.options`:
- `topic_type`: STANDARD (default), EVENT or OFFER;
- `call_to_action`: `{"actionType": ..., "url": ...}`; a bare `content.link` becomes LEARN_MORE;
- `event`: `{"title": ..., "schedule": {...}}` in the API's shape, required for EVENT and OFFER;
- `offer`: `{"couponCode", "redeemOnlineUrl", "termsConditions"}` for OFFER;
- `language_code`: default "en".
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from core.status import Platform
from providers.base import (
    Credentials,
    MediaRules,
    OneStepPublishing,
    PlatformRules,
    PostContent,
    Preparation,
    PublishBudget,
    Published,
)
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)
from providers.google_business_lookup import created_at as created_at  # tests use it here
from providers.google_business_lookup import is_the_post
from providers.kit.api import PlatformAPI
from providers.kit.error_table import ErrorKind, ErrorTable, Problem
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk

PLATFORM = "google_business"

# google.rpc status → taxonomy. The HTTP status decides only when the body names none.
CODES: dict[str, ErrorKind] = {
    "UNAUTHENTICATED": AuthError,  # 401: expired or revoked token
    "PERMISSION_DENIED": AuthError,  # 403: the user no longer manages this location
    "INVALID_ARGUMENT": ContentError,  # 400: a field Google refuses (too long, CALL with a url)
    "FAILED_PRECONDITION": ContentError,  # 400: e.g. LOCATION_DISABLED_FOR_LOCAL_POST_API
    "NOT_FOUND": ContentError,  # 404: the location is gone
    "RESOURCE_EXHAUSTED": RateLimitedError,  # 429: 10 edits per minute per profile
    "INTERNAL": TransientError,
    "UNAVAILABLE": TransientError,
    "DEADLINE_EXCEEDED": TransientError,
}


def read_problem(response: httpx.Response) -> Problem:
    """google.rpc's `error.message` and `error.status`. A status the table does not name is
    kept as the error's code only on a 429, as crier has always recorded it."""
    status = response.status_code
    try:
        error = response.json()["error"]
        message = str(error["message"])
        code = str(error.get("status") or "") or None
    except (ValueError, KeyError, TypeError):
        return Problem("rate limited" if status == 429 else None)
    return Problem(message, code if code in CODES or status == 429 else None)


def until_next_minute(now: datetime | None = None) -> timedelta:
    now = now or datetime.now(UTC)
    return (now.replace(second=0, microsecond=0) + timedelta(minutes=1)) - now


def retry_after_or_next_minute(headers: Mapping[str, str]) -> timedelta:
    # Google sends no Retry-After; the binding quota is per minute (10 edits per profile).
    return retry_after(headers) or until_next_minute()


ERRORS = ErrorTable(
    platform=PLATFORM,
    read=read_problem,
    codes=CODES,
    wait=retry_after_or_next_minute,
    codes_beat_5xx=True,  # a named google.rpc status decides even on a 5xx
)


def google_error(response: httpx.Response) -> ProviderError:
    """The name providers/connect/google_business.py calls the table by."""
    return ERRORS.error(response)


TOPIC_TYPES = frozenset({"STANDARD", "EVENT", "OFFER"})
SCHEDULED_TOPICS = frozenset({"EVENT", "OFFER"})  # both need a complete event.schedule
MAX_SUMMARY = 1500

# Reconciliation: localPosts.list serves at most 100 a page; the pages read before giving up.
LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 10


class GoogleBusinessProvider(OneStepPublishing):
    platform: ClassVar[Platform] = Platform.GOOGLE_BUSINESS
    # One photo: the API takes a list, but clients we could read send only the first (U).
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=MAX_SUMMARY,
        max_media=1,
        supports_drafts=False,
        prepares=False,
        # 10 edits per minute per profile, which cannot be raised (docs/platforms.md §6).
        budgets=(PublishBudget(limit=10, window=timedelta(minutes=1)),),
        # docs/platforms.md §6 (field notes): photos JPG/PNG, 10 KB to 5 MB; a video answers
        # HTTP 500. Assumption: KB and MB read as 10^3 and 10^6 bytes.
        media=MediaRules(
            image_formats=frozenset({"JPEG", "PNG"}),
            min_image_bytes=10_000,
            max_image_bytes=5_000_000,
            video_allowed=False,
        ),
    )

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads | None = None
    ) -> None:
        # `media` unused: the platform fetches the media URLs itself.
        self._api = PlatformAPI(http, base_url.rstrip("/") + "/v4", ERRORS)

    async def publish(
        self,
        account: Credentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        body = local_post(content)
        path = f"/{account.external_id}/localPosts"
        created = await self._api.call("POST", path, account, json=body)
        name = created.get("name")
        if not name:
            raise TransientError("200 without the local post's name", platform=PLATFORM)
        return published(created)

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The location's local post made since `since` from this content, if any."""
        body = local_post(content)
        path = f"/{account.external_id}/localPosts"

        async def read(token: str | None) -> Page[dict[str, Any]]:
            params: dict[str, Any] = {"pageSize": LOOKUP_PAGE_SIZE}
            page = await self._api.call(
                "GET", path, account, params=params | ({"pageToken": token} if token else {})
            )
            return Page(page.get("localPosts") or [], page.get("nextPageToken"))

        beyond = (
            f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} local posts at "
            f"{account.external_id}, listed in no documented order; the lookup stops there"
        )
        async for post in walk(read, max_pages=LOOKUP_MAX_PAGES, beyond=beyond):
            if created_at(post) >= since and is_the_post(post, body) and post.get("name"):
                return published(post)
        return None


def local_post(content: PostContent) -> dict[str, Any]:
    """The LocalPost body, refusing locally what Google would refuse or mishandle."""
    options = content.options
    topic = str(options.get("topic_type") or "STANDARD").upper()
    if topic not in TOPIC_TYPES:
        raise ContentError(f"unsupported topic_type {topic}", platform=PLATFORM)
    body: dict[str, Any] = {
        "languageCode": str(options.get("language_code") or "en"),
        "summary": content.text,
        "topicType": topic,
    }
    cta = options.get("call_to_action")
    if cta is None and content.link:
        cta = {"actionType": "LEARN_MORE", "url": content.link}
    # Google ignores callToAction on OFFER posts; not sending it keeps the request honest.
    if cta and topic != "OFFER":
        body["callToAction"] = dict(cta)
    if topic in SCHEDULED_TOPICS:
        event = dict(options.get("event") or {})
        if content.title and "title" not in event:
            event["title"] = content.title
        if not event.get("title") or not event.get("schedule"):
            raise ContentError(
                f"{topic} posts need event.title and event.schedule", platform=PLATFORM
            )
        body["event"] = event
    if topic == "OFFER" and (offer := options.get("offer")):
        body["offer"] = dict(offer)
    if content.media_urls:
        for url in content.media_urls:
            # Google answers a video in a post with HTTP 500 (field notes, docs/platforms.md §6),
            # which would read as transient and be retried forever: refuse it here instead.
            guessed, _ = mimetypes.guess_type(urlsplit(url).path)
            if guessed and guessed.startswith("video/"):
                raise ContentError(f"local posts take photos only, not {url}", platform=PLATFORM)
        body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": url} for url in content.media_urls]
    return body


def published(post: dict[str, Any]) -> Published:
    # searchUrl is output-only and may lag behind a PROCESSING post: no url beats a guess.
    url = post.get("searchUrl")
    return Published(external_id=str(post["name"]), url=str(url) if url else None)
