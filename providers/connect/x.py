"""X: OAuth 2.0 authorization code with PKCE (PLATFORMS.md §5).

Access tokens last two hours; refresh tokens are single use, so every refresh stores the new
pair at once (a second refresh with the old one is refused and loses the account).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import (
    Candidate,
    Hosts,
    OAuthClient,
    Pkce,
    TokenSet,
    expires_in,
    oauth_error,
)
from providers.errors import AuthError, from_http_status
from providers.http import answered

SCOPES = "tweet.read tweet.write users.read offline.access media.write"


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(authorize="https://x.com", token=settings.x_api_url, api=settings.x_api_url)


class XConnector:
    platform: ClassVar[Platform] = Platform.X
    uses_pkce: ClassVar[bool] = True
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None:
        self._http = http
        self._hosts = hosts
        self._client = client

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        assert pkce is not None, "X requires PKCE"
        query = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        return f"{self._hosts.authorize}/i/oauth2/authorize?{urlencode(query)}"

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        assert pkce is not None, "X requires PKCE"
        tokens = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pkce.verifier,
                "client_id": self._client.client_id,
            }
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
        if not tokens.refresh_token:
            raise AuthError("no refresh token was granted: reconnect the account", platform="x")
        fresh = await self._token(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": self._client.client_id,
            }
        )
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        user = await self._me(tokens)
        if str(user.get("id")) != external_id:
            raise AuthError("the token belongs to another X account", platform="x")

    async def revoke(self, tokens: TokenSet) -> None:
        for token, hint in (
            (tokens.refresh_token, "refresh_token"),
            (tokens.access_token, "access_token"),
        ):
            if not token:
                continue
            response = await answered(
                "x",
                self._http.post(
                    f"{self._hosts.token}/2/oauth2/revoke",
                    data={
                        "token": token,
                        "token_type_hint": hint,
                        "client_id": self._client.client_id,
                    },
                    auth=(self._client.client_id, self._client.client_secret),
                ),
            )
            if response.status_code >= 400:
                raise oauth_error(self.platform, response)

    async def _token(self, form: dict[str, str]) -> TokenSet:
        # A confidential client authenticates with HTTP Basic (PLATFORMS.md §5).
        response = await answered(
            "x",
            self._http.post(
                f"{self._hosts.token}/2/oauth2/token",
                data=form,
                auth=(self._client.client_id, self._client.client_secret),
            ),
        )
        if response.status_code != 200:
            raise oauth_error(self.platform, response)
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_in(body.get("expires_in")),
        )

    async def _me(self, tokens: TokenSet) -> dict[str, str]:
        response = await answered(
            "x",
            self._http.get(
                f"{self._hosts.api}/2/users/me",
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            ),
        )
        if response.status_code != 200:
            raise from_http_status(response.status_code, response.headers, platform="x")
        user: dict[str, str] = response.json()["data"]
        return user


CONNECTOR = XConnector
