"""PostForMe, the primary aggregator: it posts to a platform account it has connected.

`account_ref` is PostForMe's own social-account id. Media goes through its presigned flow in
`prepare` (create-upload-url, PUT the bytes, keep the hosted media_url); `publish` creates the
social post for that one account.
"""

from __future__ import annotations

import mimetypes
from typing import Any, ClassVar

import httpx

from providers.aggregators.failover import ANSWER_LOST
from providers.base import READY, PostContent, Preparation, Published, Readiness
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)

# The seed documents no error bodies. The sandbox answers {"error", "message"}; the status
# decides the kind, the body only adds words. A status not listed: 5xx transient, else content.
ERRORS: dict[int, type[ProviderError]] = {
    400: ContentError,
    401: AuthError,
    403: AuthError,
    404: ContentError,
    408: TransientError,
    429: RateLimitedError,
}
# httpx errors raised before the request could reach PostForMe: nothing can have been posted.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class PostForMeProvider:
    name: ClassVar[str] = "postforme"

    def __init__(self, http: httpx.AsyncClient, base_url: str, api_key: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def __repr__(self) -> str:  # the key stays out of any log line that prints the provider
        return f"PostForMeProvider({self._base!r})"

    async def prepare(self, account_ref: str, platform: str, content: PostContent) -> Preparation:
        """Checks the key can post for the account, then hosts each image with PostForMe."""
        await self._connected(account_ref)
        media = [await self._upload(url) for url in content.media_urls]
        return Preparation(ids={"media_urls": media})

    async def check(self, account_ref: str, platform: str, prepared: Preparation) -> Readiness:
        # The seed has no media status: a hosted media_url is usable as soon as the PUT is done.
        return READY

    async def publish(
        self, account_ref: str, platform: str, content: PostContent, prepared: Preparation
    ) -> Published:
        # No scheduled_at: crier's workflow waits for the due time itself, then posts at once.
        body: dict[str, Any] = {"caption": _caption(content), "social_accounts": [account_ref]}
        media = prepared.ids.get("media_urls")
        if content.media_urls and not media:
            media = (await self.prepare(account_ref, platform, content)).ids["media_urls"]
        if media:
            body["media"] = [{"url": url} for url in media]
        created = await self._call("POST", "/social-posts", json=body)
        post = created.get("data") if isinstance(created.get("data"), dict) else created
        post_id = (post or {}).get("id")
        if not post_id:
            raise TransientError("social post created without an id", platform=self.name)
        # PostForMe answers with its own post id only, never the platform's id or URL, so that
        # id is the one crier can keep and there is no public URL to give.
        return Published(external_id=str(post_id), url=None)

    async def _connected(self, account_ref: str) -> None:
        answer = await self._call("GET", "/social-accounts")
        if not any(str(a.get("id")) == account_ref for a in answer.get("data") or []):
            # This key cannot reach the account: another key (another candidate) may.
            raise AuthError(
                f"account {account_ref} is not connected to this key",
                platform=self.name,
                code="account_not_connected",
            )

    async def _upload(self, url: str) -> str:
        data, content_type = await self._foreign("GET", url, follow_redirects=True)
        target = await self._call(
            "POST", "/media/create-upload-url", json={"content_type": content_type}
        )
        # The presigned URL is its own credential: the API key is not sent to the storage host.
        await self._foreign(
            "PUT", str(target["upload_url"]), content=data, headers={"Content-Type": content_type}
        )
        return str(target["media_url"])

    async def _foreign(self, method: str, url: str, **kwargs: Any) -> tuple[bytes, str]:
        """A call to a media or storage host: its failures say nothing about the key."""
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            message = f"{method} media failed: {type(exc).__name__}"
            raise TransientError(message, platform=self.name) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"{method} media: HTTP {status}", platform=self.name)
        if not response.is_success or (method == "GET" and not response.content):
            raise ContentError(f"{method} media {url}: HTTP {status}", platform=self.name)
        declared = response.headers.get("content-type", "").split(";")[0].strip()
        content_type = declared or mimetypes.guess_type(url)[0] or "application/octet-stream"
        return response.content, content_type

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(
                method, self._base + path, headers=self._headers, **kwargs
            )
        except UNSENT as exc:
            message = f"connection failed: {type(exc).__name__}"
            raise TransientError(message, platform=self.name) from exc
        except httpx.TransportError as exc:
            message = f"no answer: {type(exc).__name__}"
            raise TransientError(message, platform=self.name, code=ANSWER_LOST) from exc
        if response.is_success:
            answer: dict[str, Any] = response.json() if response.content else {}
            return answer
        raise postforme_error(response)


def postforme_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    try:
        body = response.json()
        message = str(body.get("message") or body["error"])
        code = str(body["error"]) if body.get("error") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        message, code = f"HTTP {status}", None
    kind = ERRORS.get(status) or (TransientError if status >= 500 else ContentError)
    common: dict[str, Any] = {"platform": "postforme", "code": code, "http_status": status}
    if kind is RateLimitedError:
        return RateLimitedError(message, retry_after=retry_after(response.headers), **common)
    return kind(message, **common)


def _caption(content: PostContent) -> str:
    # The seed's post has no link field: a link rides in the caption, as on X.
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}"
    return content.text
