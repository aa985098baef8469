"""What both aggregators (PostForMe, LATE) share: their API called with one key through the
provider kit's PlatformAPI, their error table, and the PUT of media to a presigned URL.

An aggregator's lost answer is marked for the failover (providers/aggregators/failover.py)
rather than left to `maybe_sent` alone: the failover must not hand a post that may exist to the
next aggregator.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import httpx

from providers.aggregators.failover import ANSWER_LOST
from providers.base import PostContent
from providers.errors import AuthError, ContentError, TransientError
from providers.http import NEVER_SENT
from providers.kit.api import PlatformAPI
from providers.kit.error_table import ErrorTable, Problem, json_body


def read_body(response: httpx.Response) -> Problem:
    """The sandbox's `{"error", "message"}`: the seed documents no error bodies."""
    body = json_body(response)
    try:
        message = str(body.get("message") or body["error"])
        code = str(body["error"]) if body.get("error") else None
    except (KeyError, TypeError, AttributeError):
        return Problem()
    return Problem(message, code)


def error_table(name: str) -> ErrorTable:
    """The status decides the kind, the body only adds words: 408 transient, and as every
    table has it, 429 rate limited, 5xx transient, 401/403 auth, any other content."""
    return ErrorTable(platform=name, read=read_body, statuses={408: TransientError})


async def answered(platform: str, request: Awaitable[httpx.Response]) -> httpx.Response:
    """providers/http.py `answered` as the failover reads it: an answer lost once the request
    may have left carries ANSWER_LOST, so no other aggregator is tried. A connection that never
    opened keeps `maybe_sent` (the default): the failover raises the last candidate's error for
    all of them, and an earlier candidate's 5xx may have posted."""
    try:
        return await request
    except NEVER_SENT as exc:
        message = f"connection failed: {type(exc).__name__}"
        raise TransientError(message, platform=platform) from exc
    except httpx.TransportError as exc:
        message = f"no answer: {type(exc).__name__}"
        raise TransientError(message, platform=platform, code=ANSWER_LOST) from exc


class AggregatorAPI:
    """One aggregator's API at `base_url`, with one API key (a tenant's or the deployment's)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, errors: ErrorTable
    ) -> None:
        self._api = PlatformAPI(http, base_url, errors, answered=answered)
        self._key = {"Authorization": f"Bearer {api_key}"}

    @property
    def base(self) -> str:
        return self._api.base

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return await self._api.call(method, path, None, headers=self._key, **kwargs)

    async def put_media(self, url: str, data: bytes, content_type: str) -> None:
        """The PUT to a presigned URL: the URL is its own credential, so the key is not sent,
        and the storage host's failures say nothing about the key."""
        platform = self._api.platform
        headers = {"Content-Type": content_type}
        try:
            response = await self._api.http.request("PUT", url, content=data, headers=headers)
        except httpx.TransportError as exc:
            message = f"PUT media failed: {type(exc).__name__}"
            raise TransientError(message, platform=platform) from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(f"PUT media: HTTP {status}", platform=platform)
        if not response.is_success:
            # The host only: the presigned URL's query is a credential.
            host = httpx.URL(url).host
            raise ContentError(f"PUT media to {host}: HTTP {status}", platform=platform)


def not_connected(platform: str, account_ref: str) -> AuthError:
    # This key cannot reach the account: another key (another candidate) may.
    return AuthError(
        f"account {account_ref} is not connected to this key",
        platform=platform,
        code="account_not_connected",
    )


def text_with_link(content: PostContent) -> str:
    # The seed's posts have no link field: a link rides in the text, as on X.
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}"
    return content.text
