"""LinkedIn through the versioned Posts API (PLATFORMS.md §4).

Posts as the author URN the account names (an organization or a person). Images are uploaded
in `prepare` (initializeUpload, then one PUT of the whole file) and polled in `check` until
LinkedIn has processed them, because a post naming an unprocessed image is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from core.status import Platform
from providers.base import (
    READY,
    AccountCredentials,
    MediaRules,
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
PROCESSING_CHECK_AFTER = timedelta(seconds=5)

# "little text": unescaped reserved characters make LinkedIn cut the commentary short, but a
# mention written @[Name](urn:li:...) must stay as it is (Postiz `fixText`).
LITTLE_TEXT_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
MENTION = re.compile(r"@\[[^\]\n]+\]\(urn:li:(?:person|organization):[^)\s]+\)")


def little_text(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for mention in MENTION.finditer(text):
        pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last : mention.start()]))
        pieces.append(mention.group())
        last = mention.end()
    pieces.append(LITTLE_TEXT_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(pieces)


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
        body: dict[str, Any] = {
            "author": account.external_id,
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
        images = (prepared or Preparation()).ids.get("images")
        if content.media_urls and not images:
            images = (await self.prepare(account, content)).ids["images"]
        if images and len(images) == 1:
            body["content"] = {"media": {"id": images[0]}}
        elif images:
            body["content"] = {"multiImage": {"images": [{"id": image} for image in images]}}
        elif content.link:
            article = {"source": content.link}
            if content.title:
                article["title"] = content.title
            body["content"] = {"article": article}
        response = await self._rest(account, "POST", "/posts", json=body)
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise TransientError("201 without an x-restli-id header", platform="linkedin")
        return Published(external_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}")

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


def _until_midnight_utc(now: datetime | None = None) -> timedelta:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - now
