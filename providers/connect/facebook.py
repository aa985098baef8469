"""Facebook Pages: Facebook Login, then the Pages the person manages (docs/platforms.md §1).

The dialog's code buys a short-lived user token, that a long-lived one (~60 days), and
/me/accounts lists the person's Pages with a Page token each. A Page token taken from a
long-lived user token does not expire, so candidates carry no expiry and no refresh token, and
the user token is dropped: publishing uses the Page token, never the user token (seed 003).
Nothing refreshes: a Page token that stops working needs a new login. Nothing is revoked
either: the one revocation Graph has (DELETE /{user-id}/permissions) needs the user, whose
token was never kept.

Graph paths carry a version. The connector adds GRAPH_VERSION to every host, live and sandbox
alike (the sandbox serves any version), and `live_hosts` returns bare hosts. GRAPH_VERSION is
the default of the `facebook_graph_version` setting, read from the settings model so the two
cannot drift apart; configuring another version moves publishing, not connecting (tokens and
Page lists are the same in every version).

Instagram connects through this same Facebook Login (providers/connect/instagram.py).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, OAuthClient, Pkce, TokenSet
from providers.errors import AuthError, ContentError
from providers.graph import GraphErrors

GRAPH_VERSION = str(Settings.model_fields["facebook_graph_version"].default)
# Pages of /me/accounts per request, and how many requests to follow: 5,000 Pages is beyond
# any person's, and a paging link that loops must not hang a connection.
PAGE_SIZE = 100
MAX_REQUESTS = 50


def live_hosts(settings: Settings) -> Hosts:
    graph = settings.facebook_graph_url.rstrip("/")
    return Hosts(authorize="https://www.facebook.com", token=graph, api=graph)


class FacebookConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.FACEBOOK
    uses_pkce: ClassVar[bool] = False
    refreshable: ClassVar[bool] = False
    can_revoke: ClassVar[bool] = False
    scopes: ClassVar[str] = "pages_show_list,pages_manage_posts,pages_read_engagement"
    account_fields: ClassVar[str] = "id,name,access_token"  # of each Page in /me/accounts
    profile_fields: ClassVar[str] = "id,name"  # what verify reads of the account
    page_size: ClassVar[int] = PAGE_SIZE

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None:
        super().__init__(http, hosts, client)
        self._graph = GraphErrors(platform=self.platform.value)

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "response_type": "code",
            "scope": self.scopes,
        }
        return self._authorization_url(f"/{GRAPH_VERSION}/dialog/oauth", query)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        credentials = self._credentials()
        short = await self._user_token(credentials | {"redirect_uri": redirect_uri, "code": code})
        # Page tokens from a short-lived user token would die within the hour with it.
        long = await self._user_token(
            credentials | {"grant_type": "fb_exchange_token", "fb_exchange_token": short}
        )
        pages = await self._pages(long)
        return [candidate for page in pages if (candidate := self.candidate(page)) is not None]

    def candidate(self, page: dict[str, Any]) -> Candidate | None:
        """The account a Page of /me/accounts grants: the Page itself, with its token."""
        token = page.get("access_token")
        if not token:
            return None  # no token: the person's tasks on the Page do not include publishing
        return Candidate(
            external_id=str(page["id"]),
            display_name=str(page.get("name") or page["id"]),
            tokens=TokenSet(access_token=str(token)),
        )

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        raise AuthError(
            "Facebook Login grants no refresh: reconnect the account",
            platform=self.platform.value,
        )

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        found = await self._get(
            self._url(f"/{external_id}"), tokens.access_token, {"fields": self.profile_fields}
        )
        self._belongs(external_id, found.get("id"), f"{self.platform.value} account")

    async def revoke(self, tokens: TokenSet) -> None:
        return None  # see the module docstring: nothing that was kept can be revoked

    async def _user_token(self, params: dict[str, str]) -> str:
        response = await self._send(
            self._http.get(f"{self._hosts.token}/{GRAPH_VERSION}/oauth/access_token", params=params)
        )
        if response.status_code != 200:
            raise self._refused(response)
        token = response.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError("Graph answered no access token", platform=self.platform.value)
        return token

    async def _pages(self, user_token: str) -> list[dict[str, Any]]:
        url = self._url("/me/accounts")
        params: dict[str, str] | None = {
            "fields": self.account_fields,
            "limit": str(self.page_size),
        }
        pages: list[dict[str, Any]] = []
        for _ in range(MAX_REQUESTS):
            answer = await self._get(url, user_token, params)
            pages.extend(answer.get("data") or [])
            following = (answer.get("paging") or {}).get("next")
            if not following:
                return pages
            # The link carries the whole query, the cursor included.
            url, params = _without_token(str(following)), None
        raise AuthError("Graph's Page list does not end", platform=self.platform.value)

    def _url(self, path: str) -> str:
        return f"{self._hosts.api}/{GRAPH_VERSION}{path}"

    async def _get(
        self, url: str, access_token: str, params: dict[str, str] | None
    ) -> dict[str, Any]:
        response = await self._send(
            self._http.get(url, params=params, headers={"Authorization": f"OAuth {access_token}"})
        )
        if response.status_code == 200:
            found: dict[str, Any] = response.json()
            return found
        error = self._graph.error(response)
        if isinstance(error, ContentError):
            # "Does not exist or cannot be loaded": the token no longer reaches the account.
            raise AuthError(
                error.message,
                platform=error.platform,
                code=error.code,
                http_status=error.http_status,
            ) from None
        raise error


def _without_token(url: str) -> str:
    """Graph's paging link repeats the access token in its query; it goes in the header
    instead, out of a URL that a log or a proxy could keep."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = urlencode([(key, value) for key, value in query if key != "access_token"])
    return urlunsplit(parts._replace(query=kept))


CONNECTOR = FacebookConnector
