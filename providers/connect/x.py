"""X: OAuth 2.0 authorization code with PKCE (docs/platforms.md §5).

Access tokens last two hours; refresh tokens are single use, so every refresh stores the new
pair at once (a second refresh with the old one is refused and loses the account).
"""

from __future__ import annotations

from typing import ClassVar

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet
from providers.errors import from_http_status

SCOPES = "tweet.read tweet.write users.read offline.access media.write"


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(authorize="https://x.com", token=settings.x_api_url, api=settings.x_api_url)


class XConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.X
    uses_pkce: ClassVar[bool] = True
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        assert pkce is not None, "X requires PKCE"
        query = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
        }
        return self._authorization_url("/i/oauth2/authorize", query, pkce)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        assert pkce is not None, "X requires PKCE"
        tokens = await self._token(
            self._code_grant(code, redirect_uri, pkce) | {"client_id": self._client.client_id}
        )
        user = await self._me(tokens)
        name = user.get("name") or user.get("username") or user["id"]
        return [
            Candidate(
                external_id=str(user["id"]),
                display_name=f"{name} (@{user.get('username')})",
                tokens=tokens,
            )
        ]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        fresh = await self._token(
            self._refresh_grant(tokens) | {"client_id": self._client.client_id}
        )
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        user = await self._me(tokens)
        self._belongs(external_id, user.get("id"), "X account")

    async def revoke(self, tokens: TokenSet) -> None:
        for token, hint in (
            (tokens.refresh_token, "refresh_token"),
            (tokens.access_token, "access_token"),
        ):
            if not token:
                continue
            response = await self._send(
                self._http.post(
                    f"{self._hosts.token}/2/oauth2/revoke",
                    data={
                        "token": token,
                        "token_type_hint": hint,
                        "client_id": self._client.client_id,
                    },
                    auth=self._basic_auth(),
                )
            )
            if response.status_code >= 400:
                raise self._refused(response)

    async def _token(self, form: dict[str, str]) -> TokenSet:
        # A confidential client authenticates with HTTP Basic (docs/platforms.md §5).
        return await self._grant("/2/oauth2/token", form, basic=True)

    async def _me(self, tokens: TokenSet) -> dict[str, str]:
        response = await self._api_get("/2/users/me", tokens)
        if response.status_code != 200:
            raise from_http_status(response.status_code, response.headers, platform="x")
        user: dict[str, str] = response.json()["data"]
        return user


CONNECTOR = XConnector
