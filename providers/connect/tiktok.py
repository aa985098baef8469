"""TikTok: Login Kit v2, authorization code with PKCE (docs/platforms.md §9).

TikTok calls the app's id `client_key` and takes the secret in the form, never in a header.
Refresh tokens rotate: a refresh answers with a new one and the old one stops working, so the
new pair is stored at once. Lifetimes differ between TikTok's docs (24 h / 365 d, or 2 h /
180 d), so the answer's `expires_in` is used, never a constant.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, ConnectorBase, Hosts, Pkce, TokenSet
from providers.errors import from_http_status
from providers.tiktok import tiktok_error

# video.list: the only way to learn, after a lost answer, whether a video went out.
SCOPES = "user.info.basic,video.list,video.publish,video.upload"


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(
        authorize="https://www.tiktok.com",
        token=settings.tiktok_api_url,
        api=settings.tiktok_api_url,
    )


class TikTokConnector(ConnectorBase):
    platform: ClassVar[Platform] = Platform.TIKTOK
    uses_pkce: ClassVar[bool] = True
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "client_key": self._client.client_id,
            "scope": SCOPES,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return self._authorization_url("/v2/auth/authorize/", query, pkce)

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        tokens = await self._token(self._code_grant(code, redirect_uri, pkce))
        user = await self._user(tokens)
        open_id = str(user["open_id"])
        return [
            Candidate(
                external_id=open_id,
                display_name=str(user.get("display_name") or open_id),
                tokens=tokens,
            )
        ]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        fresh = await self._token(self._refresh_grant(tokens))
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        user = await self._user(tokens)
        self._belongs(external_id, user.get("open_id"), "TikTok account")

    async def revoke(self, tokens: TokenSet) -> None:
        # TikTok revokes the access token only; doing so disconnects the app from the user,
        # which ends the refresh token too.
        response = await self._send(
            self._http.post(
                f"{self._hosts.token}/v2/oauth/revoke/",
                data={**self._credentials(), "token": tokens.access_token},
            )
        )
        if response.status_code >= 400 or _oauth_refusal(response):
            raise self._refused(response)

    def _credentials(self) -> dict[str, str]:
        # TikTok names the app's id `client_key`.
        return {"client_key": self._client.client_id, "client_secret": self._client.client_secret}

    async def _token(self, form: dict[str, str]) -> TokenSet:
        return await self._grant("/v2/oauth/token/", {**self._credentials(), **form})

    def _granted(self, response: httpx.Response) -> TokenSet:
        # Clients report TikTok's OAuth errors with HTTP 200 as well as 4xx: the body decides.
        if _oauth_refusal(response):
            raise self._refused(response)
        return super()._granted(response)

    async def _user(self, tokens: TokenSet) -> dict[str, Any]:
        response = await self._api_get(
            "/v2/user/info/", tokens, params={"fields": "open_id,display_name"}
        )
        try:
            envelope = response.json()
            error = envelope["error"]
            code, message = str(error["code"]), str(error.get("message") or error["code"])
        except (ValueError, KeyError, TypeError):
            # Not TikTok's envelope (a proxy's page, an empty 503): the status is all there is.
            raise from_http_status(
                response.status_code, response.headers, platform="tiktok"
            ) from None
        if code != "ok" or not response.is_success:
            raise tiktok_error(code, message, response)
        user: dict[str, Any] = envelope["data"]["user"]
        return user


def _oauth_refusal(response: httpx.Response) -> bool:
    """Whether a 2xx answer is an OAuth error struct `{error, error_description, log_id}`."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("error"), str) and bool(body["error"])


CONNECTOR = TikTokConnector
