"""Google Business Profile local posts through the v4 API (PLATFORMS.md §6).

Posts to the location `AccountCredentials.external_id` names (`accounts/{a}/locations/{l}`).
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
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from core.status import Platform
from providers.base import (
    AccountCredentials,
    MediaRules,
    NotCheckable,
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
    from_http_status,
    retry_after,
)
from providers.http import answered

PLATFORM = "google_business"

# google.rpc status → taxonomy. The HTTP status decides only when the body names none.
ERRORS: dict[str, type[ProviderError]] = {
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
        # 10 edits per minute per profile, which cannot be raised (PLATFORMS.md §6).
        budgets=(PublishBudget(limit=10, window=timedelta(minutes=1)),),
        # PLATFORMS.md §6 (field notes): photos JPG/PNG, 10 KB to 5 MB; a video answers HTTP 500.
        # Assumption: KB and MB read as 10^3 and 10^6 bytes.
        media=MediaRules(
            image_formats=frozenset({"JPEG", "PNG"}),
            min_image_bytes=10_000,
            max_image_bytes=5_000_000,
            video_allowed=False,
        ),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/v4"

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        body = local_post(content)
        created = await self._call(account, "POST", f"/{account.external_id}/localPosts", json=body)
        name = created.get("name")
        if not name:
            raise TransientError("200 without the local post's name", platform=PLATFORM)
        return published(created)

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        """The location's local post made since `since` from this content, if any."""
        body = local_post(content)
        path = f"/{account.external_id}/localPosts"
        params: dict[str, Any] = {"pageSize": LOOKUP_PAGE_SIZE}
        for _ in range(LOOKUP_MAX_PAGES):
            page = await self._call(account, "GET", path, params=params)
            for post in page.get("localPosts") or []:
                if created_at(post) >= since and is_the_post(post, body) and post.get("name"):
                    return published(post)
            token = page.get("nextPageToken")
            if not token:
                return None
            params["pageToken"] = token
        raise NotCheckable(
            f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} local posts at "
            f"{account.external_id}, listed in no documented order; the lookup stops there"
        )

    async def _call(
        self, account: AccountCredentials, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {account.access_token}"}
        response = await answered(
            PLATFORM, self._http.request(method, self._base + path, headers=headers, **kwargs)
        )
        if response.is_success:
            data: dict[str, Any] = response.json()
            return data
        raise google_error(response)


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
            # Google answers a video in a post with HTTP 500 (field notes, PLATFORMS.md §6),
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


def created_at(post: dict[str, Any]) -> datetime:
    """A local post's createTime (RFC 3339, Z, up to 9 fractional digits, which Python reads
    to the microsecond); one without it cannot be ruled out by its age."""
    try:
        return datetime.fromisoformat(str(post["createTime"]))
    except (KeyError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def is_the_post(post: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a listed local post is the one `body` makes: the fields Google gives back as
    sent. Photos come back as Google's copies (googleUrl), so only their number counts."""
    return (
        post.get("summary", "") == body.get("summary", "")
        and post.get("topicType", "STANDARD") == body["topicType"]
        and _action(post) == _action(body)
        and (post.get("event") or {}).get("title") == (body.get("event") or {}).get("title")
        and len(post.get("media") or []) == len(body.get("media") or [])
    )


def _action(post: dict[str, Any]) -> tuple[str | None, str | None]:
    cta = post.get("callToAction") or {}
    return cta.get("actionType"), cta.get("url")


def google_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        error = response.json()["error"]
        message = str(error["message"])
        code = str(error.get("status") or "") or None
    except (ValueError, KeyError, TypeError):
        if status == 429:
            return _rate_limited("rate limited", None, response)
        return from_http_status(status, response.headers, platform=PLATFORM)
    kind = ERRORS.get(code or "")
    if status == 429 or kind is RateLimitedError:
        return _rate_limited(message, code, response)
    if kind is None:
        return from_http_status(status, response.headers, platform=PLATFORM, message=message)
    return kind(message, platform=PLATFORM, code=code, http_status=status)


def _rate_limited(message: str, code: str | None, response: httpx.Response) -> RateLimitedError:
    # Google sends no Retry-After; the binding quota is per minute (10 edits per profile).
    wait = retry_after(response.headers) or until_next_minute()
    return RateLimitedError(
        message, platform=PLATFORM, code=code, http_status=response.status_code, retry_after=wait
    )


def until_next_minute(now: datetime | None = None) -> timedelta:
    now = now or datetime.now(UTC)
    return (now.replace(second=0, microsecond=0) + timedelta(minutes=1)) - now
