"""The one HTTP call shape: a request to the platform's API as an account, its JSON back.

Every call goes through providers/http.py `answered` (no answer at all is a TransientError
that says whether the request may have left) and every failure through the provider's
ErrorTable, so a provider module never handles a status code itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import httpx

from providers.base import Credentials
from providers.http import answered
from providers.kit.error_table import ErrorTable

# How a request that got no answer at all becomes an error: providers/http.py `answered` for a
# platform; the aggregators mark a lost answer their own way (providers/aggregators/api.py).
Answered = Callable[[str, Awaitable[httpx.Response]], Awaitable[httpx.Response]]


def bearer(account: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


class PlatformAPI:
    """One platform's API at `base_url`, as the provider's accounts."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        errors: ErrorTable,
        *,
        auth: Callable[[Credentials], Mapping[str, str]] = bearer,
        answered: Answered = answered,
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.errors = errors
        self._auth = auth
        self._answered = answered

    @property
    def platform(self) -> str:
        return self.errors.platform

    async def call(
        self, method: str, path: str, account: Credentials | None, **kwargs: Any
    ) -> dict[str, Any]:
        """The JSON object a successful answer carries ({} for an empty one); any other
        answer raises the error its table names."""
        response = await self.send(method, path, account, **kwargs)
        if not response.is_success:
            raise self.errors.error(response)
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    async def answer(
        self,
        method: str,
        path: str,
        account: Credentials | None,
        *,
        ok: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer itself, for a provider that reads its headers or a status in `ok` (a
        resumable upload's 308); any other answer that is not a success raises its error."""
        response = await self.send(method, path, account, **kwargs)
        if not (response.is_success or response.status_code in ok):
            raise self.errors.error(response)
        return response

    async def send(
        self,
        method: str,
        path: str,
        account: Credentials | None,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The answer whatever its status, for a provider that reads headers or a redirect.
        `path` is joined to the base, unless it is a whole URL (an upload URL the platform
        gave). `account` None: the call carries its own credentials (in `params`, say)."""
        url = path if path.startswith(("https://", "http://")) else self.base + path
        sent = {**(headers or {}), **(self._auth(account) if account else {})}
        request = self.http.request(method, url, headers=sent, **kwargs)
        return await self._answered(self.platform, request)
