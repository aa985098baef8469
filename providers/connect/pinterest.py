"""Pinterest: OAuth 2.0 authorization code, the app authenticating with HTTP Basic
(docs/platforms.md §8).

A login grants the person's boards, and each board is an account: a pin names its board, and
the board id is the account's external id the provider pins to. Access tokens last about 30
days; a refresh sometimes sends a new refresh token and otherwise the old one stays good, so a
refresh keeps the stored one unless replaced. Pinterest's token revocation serves system users
only, so a person's token cannot be revoked: disconnecting forgets it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet
from providers.errors import ProviderError
from providers.pinterest import pinterest_error

SCOPES = "boards:read,pins:read,pins:write,user_accounts:read"
PAGE_SIZE = 250  # the most GET /v5/boards gives a page
MAX_PAGES = 40  # 10,000 boards: a bookmark that never ends must not loop forever


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(
        authorize="https://www.pinterest.com",
        token=settings.pinterest_api_url,
        api=settings.pinterest_api_url,
    )


class PinterestConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.PINTEREST
    uses_pkce: ClassVar[bool] = False
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = False

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
        }
        return self._authorization_url("/oauth/", query)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        tokens = await self._token(self._code_grant(code, redirect_uri))
        username = (await self._user_account(tokens)).get("username")
        return [
            Candidate(
                external_id=str(board["id"]),
                display_name=f"{username} / {board.get('name') or board['id']}",
                tokens=tokens,
            )
            for board in await self._boards(tokens)
        ]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        fresh = await self._token(self._refresh_grant(tokens))
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        await self._user_account(tokens)

    async def revoke(self, tokens: TokenSet) -> None:
        # Callers check can_revoke first; answering here would claim a revocation that never
        # happened.
        raise ProviderError(
            "Pinterest cannot revoke a person's token: it lapses when it expires",
            platform="pinterest",
        )

    async def _token(self, form: dict[str, str]) -> TokenSet:
        return await self._grant("/v5/oauth/token", form, basic=True)

    def _refused(self, response: httpx.Response) -> ProviderError:
        refused = super()._refused(response)
        # Pinterest's errors are `{code: <int>, message}`: keep the code for diagnosis.
        refused.code = refused.code or _error_code(response)
        return refused

    async def _get(self, path: str, tokens: TokenSet, **params: Any) -> dict[str, Any]:
        response = await self._api_get(f"/v5{path}", tokens, params=params)
        if not response.is_success:
            raise pinterest_error(response)
        body: dict[str, Any] = response.json()
        return body

    async def _user_account(self, tokens: TokenSet) -> dict[str, Any]:
        return await self._get("/user_account", tokens)

    async def _boards(self, tokens: TokenSet) -> list[dict[str, Any]]:
        boards: list[dict[str, Any]] = []
        params: dict[str, Any] = {"page_size": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            page = await self._get("/boards", tokens, **params)
            boards.extend(page.get("items") or [])
            if not page.get("bookmark"):
                break
            params["bookmark"] = page["bookmark"]
        return boards


def _error_code(response: httpx.Response) -> str | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return str(code) if code is not None else None


CONNECTOR = PinterestConnector
