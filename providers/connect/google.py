"""Google's OAuth 2.0 web-server flow for Business Profile and YouTube alike (docs/platforms.md §6).

Only the scopes and the accounts a token reaches differ between the two; each platform module
subclasses `GoogleConnector` for those. Google answers a refresh without a new refresh token
(tokens do not rotate), so every refresh is merged over the stored set. Revoking either token
of a consent revokes the whole consent, access tokens included.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet

ACCOUNTS = "https://accounts.google.com"  # the consent screen
OAUTH2 = "https://oauth2.googleapis.com"  # token and revoke


def google_hosts(api: str) -> Hosts:
    return Hosts(authorize=ACCOUNTS, token=OAUTH2, api=api)


class GoogleConnector(ConnectorBase):
    """The OAuth half of a Google platform; subclasses say what the token may publish to."""

    platform: ClassVar[Platform]
    scopes: ClassVar[str]  # space-separated, as Google takes them
    # A confidential web client: Google accepts PKCE but does not require it.
    uses_pkce: ClassVar[bool] = False
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": state,
            # A refresh token comes only with offline access, and only on the first consent
            # unless the consent screen is shown again: a reconnect must get a new one too.
            "access_type": "offline",
            "prompt": "consent",
        }
        return self._authorization_url("/o/oauth2/v2/auth", query)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        tokens = await self._token(self._code_grant(code, redirect_uri))
        return await self.candidates(tokens)

    async def candidates(self, tokens: TokenSet) -> list[Candidate]:
        raise NotImplementedError

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        raise NotImplementedError

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        fresh = await self._token(self._refresh_grant(tokens))
        return fresh.merged_into(tokens)

    async def revoke(self, tokens: TokenSet) -> None:
        # One call ends the consent: Google revokes the refresh token and the access tokens
        # minted from it together. The refresh token is the one that outlives the other.
        token = tokens.refresh_token or tokens.access_token
        response = await self._send(
            self._http.post(f"{self._hosts.token}/revoke", params={"token": token})
        )
        if response.status_code == 400 and _error_code(response) == "invalid_token":
            return  # already expired or revoked: nothing is left to end
        if response.status_code >= 400:
            raise self._refused(response)

    async def _token(self, form: dict[str, str]) -> TokenSet:
        # client_secret_post: Google takes the app's credentials in the form.
        return await self._grant("/token", form | self._credentials())


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) else None
