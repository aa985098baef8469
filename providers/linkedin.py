"""LinkedIn through the versioned Posts API (PLATFORMS.md §4).

Posts as the author URN the account names (an organization or a person). Images are uploaded
in `prepare` (initializeUpload, then one PUT of the whole file) and polled in `check` until
LinkedIn has processed them, because a post naming an unprocessed image is refused.

After a publish whose answer was lost, `find_published` pages through the author's posts
(`GET /rest/posts?q=author`, newest created first) back to the attempt's start, for the one
with the commentary and content `publish` sends. LinkedIn lets only apps holding the private
r_member_social permission read a member's posts, so for a person it usually answers 403: the
provider raises NotCheckable then, and the target ends `unconfirmed`.

LinkedIn refuses a repeated commentary with a 422 naming the live post. `publish` takes that
post as its own only when it carries the images this target uploaded in `prepare` (URNs no
other post can hold); a text-only duplicate stays a ContentError, since nothing tells a retry
from a genuine repeat of an older post, and `find_published` already looked before the retry.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

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

# Versions retire about a year after release, then every call answers 426 NONEXISTENT_VERSION:
# bump this before then (Postiz uses 202601).
API_VERSION = "202601"
RESTLI_PROTOCOL = "2.0.0"

# serviceErrorCode (401) → taxonomy: all three mean a person must authorize again.
AUTH_SERVICE_CODES = {65600, 65601, 65602}
# The 422 duplicate names the live post, so the caller can recover it instead of reposting.
DUPLICATE = re.compile(r"duplicate of (urn:li:[A-Za-z]+:[\w-]+)")
POST_URN = re.compile(r"urn:li:[A-Za-z]+:[\w-]+")
PROCESSING_CHECK_AFTER = timedelta(seconds=5)

# "little text": unescaped reserved characters make LinkedIn cut the commentary short, but a
# mention written @[Name](urn:li:...) must stay as it is (Postiz `fixText`).
LITTLE_TEXT_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
MENTION = re.compile(r"@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)")
# Read back, a hashtag may come as little text's template {hashtag|\#|tag} (Little Text Format).
HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?#\|([^}]*)\}")

# Reconciliation: the finder's page (count) and how many pages to read before giving up. Posts
# come newest created first, so the walk stops at the first one older than the attempt.
LOOKUP_PAGE_SIZE = 50
LOOKUP_MAX_PAGES = 10
# Lifecycle states of a post that is, or is about to be, public.
LIVE_STATES = frozenset({"PUBLISHED", "PUBLISH_REQUESTED"})


def little_text(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for mention in MENTION.finditer(text):
        pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last : mention.start()]))
        pieces.append(mention.group())
        last = mention.end()
    pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(pieces)


def reader_text(commentary: str) -> str:
    """What a reader sees of little text: escapes undone, hashtag templates as #tag, mentions
    as written. Commentary is compared in this form, so the escaped text `publish` sent and
    the form LinkedIn answers with (which may turn hashtags into templates) meet."""
    seen: list[str] = []
    index = 0
    while index < len(commentary):
        if mention := MENTION.match(commentary, index):
            seen.append(mention.group())
            index = mention.end()
        elif hashtag := HASHTAG_TEMPLATE.match(commentary, index):
            seen.append("#" + hashtag.group(1))
            index = hashtag.end()
        elif commentary[index] == "\\" and index + 1 < len(commentary):
            seen.append(commentary[index + 1])
            index += 2
        else:
            seen.append(commentary[index])
            index += 1
    return "".join(seen)


def post_body(author: str, content: PostContent, images: list[str] | None = None) -> dict[str, Any]:
    """The Posts API body `publish` sends; `find_published` matches against the same."""
    body: dict[str, Any] = {
        "author": author,
        "commentary": little_text(content.text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if images and len(images) == 1:
        body["content"] = {"media": {"id": images[0]}}
    elif images:
        body["content"] = {"multiImage": {"images": [{"id": image} for image in images]}}
    elif content.link:
        article = {"source": content.link}
        if content.title:
            article["title"] = content.title
        body["content"] = {"article": article}
    return body


def content_key(content: dict[str, Any] | None) -> tuple[str, ...]:
    """What identifies a post's content: its image URNs, or its article's source. LinkedIn
    adds to an article when it reads the page (title, thumbnail), so only the source counts."""
    content = content or {}
    if "media" in content:
        return ("images", str((content["media"] or {}).get("id")))
    if "multiImage" in content:
        images = (content["multiImage"] or {}).get("images") or []
        return ("images", *(str(image.get("id")) for image in images))
    if "article" in content:
        return ("article", str((content["article"] or {}).get("source")))
    return ()


def is_the_post(element: dict[str, Any], body: dict[str, Any], *, images_known: bool) -> bool:
    """Whether a post LinkedIn lists is the one `body` would make: the same commentary as a
    reader sees it, and the same images or article. Without the image URNs (`publish` would
    have uploaded its own), any images match."""
    if element.get("lifecycleState", "PUBLISHED") not in LIVE_STATES:
        return False
    if reader_text(str(element.get("commentary") or "")) != reader_text(body["commentary"]):
        return False
    found, sent = content_key(element.get("content")), content_key(body.get("content"))
    return found == sent or (not images_known and found[:1] == sent[:1] == ("images",))


def published(urn: str) -> Published:
    return Published(external_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}")


class LinkedInProvider:
    platform: ClassVar[Platform] = Platform.LINKEDIN
    # No drafts: the schema has lifecycleState DRAFT, but nobody can find or publish one later.
    rules: ClassVar[PlatformRules] = PlatformRules(
        max_text_length=3000,
        max_media=20,
        supports_drafts=False,
        prepares=True,
        # PLATFORMS.md §4 states no image limits. It documents video, but this provider
        # uploads images only, so a video is refused here rather than at publish time.
        media=MediaRules(video_allowed=False),
    )

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/rest"

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        images = [await self._upload_image(account, url) for url in content.media_urls]
        return Preparation(ids={"images": images})

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        statuses: list[dict[str, Any]] = []
        for image in prepared.ids.get("images", []):
            try:
                response = await self._rest(account, "GET", f"/images/{quote(image, safe='')}")
            except AuthError as exc:
                # Person tokens (w_member_social) may not read images back: publish will say.
                if exc.http_status == 403 and account.external_id.startswith("urn:li:person:"):
                    return READY
                raise
            statuses.append(response.json())
        failed = [s for s in statuses if s.get("status") == "PROCESSING_FAILED"]
        if failed:
            reason = failed[0].get("processingFailureReason") or "image processing failed"
            return Readiness(state="failed", reason=str(reason))
        if all(s.get("status") == "AVAILABLE" for s in statuses):
            return READY
        return Readiness(state="pending", check_after=PROCESSING_CHECK_AFTER)

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation | None = None,
        *,
        draft: bool = False,
    ) -> Published:
        images = (prepared or Preparation()).ids.get("images")
        if content.media_urls and not images:
            images = (await self.prepare(account, content)).ids["images"]
        body = post_body(account.external_id, content, images)
        try:
            response = await self._rest(account, "POST", "/posts", json=body)
        except ContentError as refused:
            duplicate = refused.code == "DUPLICATE"
            if duplicate and (own := await self._own_duplicate(account, refused, body)):
                return own
            raise
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise TransientError("201 without an x-restli-id header", platform="linkedin")
        return published(urn)

    async def _own_duplicate(
        self, account: AccountCredentials, refused: ContentError, body: dict[str, Any]
    ) -> Published | None:
        """The live post a 422 duplicate names, if it is this target's own earlier attempt:
        it carries the image URNs this target's `prepare` uploaded, which no other post can.
        A text-only post has no such key, so its duplicate stays a refusal."""
        urn = POST_URN.search(refused.message)
        if urn is None or content_key(body.get("content"))[:1] != ("images",):
            return None
        try:
            response = await self._rest(account, "GET", f"/posts/{quote(urn.group(), safe='')}")
        except (AuthError, ContentError):
            return None  # a person's posts cannot be read back (r_member_social): unprovable
        # A transient failure of the read goes up: the attempt stays unknown, and the next try
        # looks for the post first.
        if not is_the_post(response.json(), body, images_known=True):
            return None
        return published(urn.group())

    async def find_published(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        since: datetime,
    ) -> Published | None:
        """The author's post made since `since` with this commentary and content, if any."""
        images = prepared.ids.get("images") or None
        body = post_body(account.external_id, content, images)
        known = bool(images) or not content.media_urls
        async for element in self._posts_since(account, since):
            if is_the_post(element, body, images_known=known):
                return published(str(element["id"]))
        return None

    async def _posts_since(
        self, account: AccountCredentials, since: datetime
    ) -> AsyncIterator[dict[str, Any]]:
        """The author's posts created at or after `since`, newest first ("find posts by
        authors", sorted by CREATED), a page at a time up to LOOKUP_MAX_PAGES."""
        for page in range(LOOKUP_MAX_PAGES):
            params: dict[str, Any] = {
                "q": "author",
                "author": account.external_id,
                "sortBy": "CREATED",
                "count": LOOKUP_PAGE_SIZE,
                "start": page * LOOKUP_PAGE_SIZE,
            }
            try:
                response = await self._rest(
                    account, "GET", "/posts", params=params, headers={"X-RestLi-Method": "FINDER"}
                )
            except AuthError as exc:
                if exc.http_status != 403:
                    raise  # 401: the token is dead; a person reconnects, then it looks again
                raise NotCheckable(_unreadable(account, exc)) from exc
            answer = response.json()
            elements: list[dict[str, Any]] = answer.get("elements") or []
            for element in elements:
                if _created_at(element) < since:
                    return  # sorted by creation: everything after is older still
                yield element
            links = (answer.get("paging") or {}).get("links") or []
            if len(elements) < LOOKUP_PAGE_SIZE and not any(
                link.get("rel") == "next" for link in links
            ):
                return
        raise NotCheckable(
            f"more than {LOOKUP_PAGE_SIZE * LOOKUP_MAX_PAGES} posts by {account.external_id} "
            f"since {since.isoformat()}; the lookup stops there"
        )

    async def _upload_image(self, account: AccountCredentials, url: str) -> str:
        request = {"initializeUploadRequest": {"owner": account.external_id}}
        started = await self._rest(
            account, "POST", "/images", params={"action": "initializeUpload"}, json=request
        )
        value = started.json()["value"]
        data = await self._download(url)
        await self._send(
            "PUT",
            value["uploadUrl"],
            headers={"Authorization": f"Bearer {account.access_token}"},
            content=data,
        )
        return str(value["image"])

    async def _download(self, url: str) -> bytes:
        # The token is LinkedIn's: the media host never sees it.
        response = await self._send("GET", url, foreign=True)
        return response.content

    async def _rest(
        self, account: AccountCredentials, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {account.access_token}",
            "LinkedIn-Version": API_VERSION,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
            **kwargs.pop("headers", {}),
        }
        return await self._send(method, self._base + path, headers=headers, **kwargs)

    async def _send(
        self, method: str, url: str, *, foreign: bool = False, **kwargs: Any
    ) -> httpx.Response:
        response = await answered("linkedin", self._http.request(method, url, **kwargs))
        if response.is_success:
            return response
        if foreign:
            status = response.status_code
            message = f"media {url} answered HTTP {status}"
            if status >= 500 or status == 429:
                raise TransientError(message, platform="linkedin", http_status=status)
            raise ContentError(message, platform="linkedin", http_status=status)
        raise linkedin_error(response)


def linkedin_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        error = response.json()
        message = str(error["message"])
        code = error.get("serviceErrorCode") or error.get("code")
    except (ValueError, KeyError, TypeError):
        error, message, code = {}, None, None
    common: dict[str, Any] = {
        "platform": "linkedin",
        "code": str(code) if code is not None else None,
        "http_status": status,
    }
    if status == 429:
        # No Retry-After and no rate-limit headers: daily quotas reset at midnight UTC.
        wait = retry_after(response.headers) or _until_midnight_utc()
        return RateLimitedError(message or "rate limited", retry_after=wait, **common)
    if message is None:
        return from_http_status(status, response.headers, platform="linkedin")
    if status == 401 or error.get("serviceErrorCode") in AUTH_SERVICE_CODES:
        return AuthError(message, **common)
    if status == 403:
        return AuthError(message, **common)
    if status >= 500:
        return TransientError(message, **common)
    if status == 422 and (duplicate := DUPLICATE.search(message)):
        return ContentError(
            f"duplicate of the live post {duplicate.group(1)}", **(common | {"code": "DUPLICATE"})
        )
    return ContentError(message, **common)


def _created_at(element: dict[str, Any]) -> datetime:
    # createdAt is epoch milliseconds; a post without one cannot be ruled out by its age.
    created = element.get("createdAt")
    if not isinstance(created, int | float):
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromtimestamp(created / 1000, UTC)


def _unreadable(account: AccountCredentials, exc: AuthError) -> str:
    if account.external_id.startswith("urn:li:person:"):
        return (
            "LinkedIn lets only apps granted the private r_member_social permission read a "
            f"member's posts ({exc.message})"
        )
    return f"the token may not read {account.external_id}'s posts ({exc.message})"


def _until_midnight_utc(now: datetime | None = None) -> timedelta:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - now
