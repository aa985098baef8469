"""Threads: Threads' own OAuth, then a long-lived token (docs/platforms.md §3).

The code buys a short-lived token (1 h), exchanged at once for a long-lived one (about 60 days).
There is no refresh token: a long-lived token refreshes itself into a new 60-day one (Threads
wants it at least a day old and unexpired), so refresh sends the access token. Threads has no
endpoint to revoke a token; the person removes the app in their Threads settings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet, expires_in
from providers.errors import AuthError
from providers.threads import API_VERSION, GRAPH

SCOPES = "threads_basic,threads_content_publish"


def live_hosts(settings: Settings) -> Hosts:
    graph = settings.threads_graph_url.rstrip("/")
    return Hosts(authorize="https://threads.net", token=graph, api=graph)


class ThreadsConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.THREADS
    uses_pkce: ClassVar[bool] = False
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = False

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "response_type": "code",
            "state": state,
        }
        return self._authorization_url("/oauth/authorize", query)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        response = await self._send(
            self._http.post(
                f"{self._hosts.token}/oauth/access_token",
                data=self._credentials()
                | {"grant_type": "authorization_code", "redirect_uri": redirect_uri, "code": code},
            )
        )
        short = self._tokens(response)
        # A short-lived token would be dead within the hour: keep only the long-lived one.
        tokens = await self._long_lived(
            "/access_token",
            {
                "grant_type": "th_exchange_token",
                "client_secret": self._client.client_secret,
                "access_token": short.access_token,
            },
        )
        user = await self._me(tokens)
        return [
            Candidate(
                external_id=str(user["id"]),
                display_name=str(user.get("username") or user["id"]),
                tokens=tokens,
            )
        ]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        fresh = await self._long_lived(
            "/refresh_access_token",
            {"grant_type": "th_refresh_token", "access_token": tokens.access_token},
        )
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        user = await self._me(tokens)
        self._belongs(external_id, user.get("id"), "Threads account")

    async def revoke(self, tokens: TokenSet) -> None:
        return None  # no revoke endpoint (module docstring)

    async def _long_lived(self, path: str, params: dict[str, str]) -> TokenSet:
        response = await self._send(self._http.get(f"{self._hosts.api}{path}", params=params))
        return self._tokens(response)

    def _tokens(self, response: httpx.Response) -> TokenSet:
        if response.status_code != 200:
            raise self._refused(response)
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError("Threads answered no access token", platform="threads")
        # The code exchange names no expiry: its token lives an hour (docs/platforms.md §3).
        return TokenSet(access_token=token, expires_at=expires_in(body.get("expires_in", 3600)))

    async def _me(self, tokens: TokenSet) -> dict[str, Any]:
        # The token goes in a header, never in a URL that a proxy or a log could keep.
        response = await self._api_get(
            f"/{API_VERSION}/me", tokens, params={"fields": "id,username"}
        )
        if response.status_code != 200:
            raise GRAPH.error(response)
        user: dict[str, Any] = response.json()
        return user


CONNECTOR = ThreadsConnector
