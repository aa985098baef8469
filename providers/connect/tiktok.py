"""TikTok: Login Kit v2, authorization code with PKCE (PLATFORMS.md §9).

TikTok calls the app's id `client_key` and takes the secret in the form, never in a header.
Refresh tokens rotate: a refresh answers with a new one and the old one stops working, so the
new pair is stored at once. Lifetimes differ between TikTok's docs (24 h / 365 d, or 2 h /
180 d), so the answer's `expires_in` is used, never a constant.
"""

from __future__ import annotations

from typing import Any, ClassVar
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
from providers.tiktok import tiktok_error

SCOPES = "user.info.basic,video.publish,video.upload"


def live_hosts(settings: Settings) -> Hosts:
    return Hosts(
        authorize="https://www.tiktok.com",
        token=settings.tiktok_api_url,
        api=settings.tiktok_api_url,
    )


class TikTokConnector:
    platform: ClassVar[Platform] = Platform.TIKTOK
    uses_pkce: ClassVar[bool] = True
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None:
        self._http = http
        self._hosts = hosts
        self._client = client

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str:
        query = {
            "client_key": self._client.client_id,
            "scope": SCOPES,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if pkce is not None:
            query |= {"code_challenge": pkce.challenge, "code_challenge_method": "S256"}
        return f"{self._hosts.authorize}/v2/auth/authorize/?{urlencode(query)}"

    async def exchange(self, *, code: str, redirect_uri: str, pkce: Pkce | None) -> list[Candidate]:
        form = {
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        }
        if pkce is not None:
            form["code_verifier"] = pkce.verifier
        tokens = await self._token(form)
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
        if not tokens.refresh_token:
            raise AuthError(
                "no refresh token was granted: reconnect the account", platform="tiktok"
            )
        fresh = await self._token(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        )
        return fresh.merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        user = await self._user(tokens)
        if str(user.get("open_id")) != external_id:
            raise AuthError("the token belongs to another TikTok account", platform="tiktok")

    async def revoke(self, tokens: TokenSet) -> None:
        # TikTok revokes the access token only; doing so disconnects the app from the user,
        # which ends the refresh token too.
        response = await answered(
            "tiktok",
            self._http.post(
                f"{self._hosts.token}/v2/oauth/revoke/",
                data={**self._credentials(), "token": tokens.access_token},
            ),
        )
        if response.status_code >= 400 or _oauth_refusal(response):
            raise oauth_error(self.platform, response)

    def _credentials(self) -> dict[str, str]:
        return {"client_key": self._client.client_id, "client_secret": self._client.client_secret}

    async def _token(self, form: dict[str, str]) -> TokenSet:
        response = await answered(
            "tiktok",
            self._http.post(
                f"{self._hosts.token}/v2/oauth/token/", data={**self._credentials(), **form}
            ),
        )
        # Clients report TikTok's OAuth errors with HTTP 200 as well as 4xx: the body decides.
        if response.status_code != 200 or _oauth_refusal(response):
            raise oauth_error(self.platform, response)
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_in(body.get("expires_in")),
        )

    async def _user(self, tokens: TokenSet) -> dict[str, Any]:
        response = await answered(
            "tiktok",
            self._http.get(
                f"{self._hosts.api}/v2/user/info/",
                params={"fields": "open_id,display_name"},
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            ),
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
