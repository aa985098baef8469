"""Bluesky: a session opened with the account's app password, no OAuth (docs/platforms.md §7).

`com.atproto.server.createSession` trades the handle (or DID) and app password for an access
and a refresh token; the password is never stored. `refreshSession` takes the refresh token as
the Bearer and answers with a new pair: the old refresh token is then spent, so the new pair
is stored at once. Access tokens are JWTs whose `exp` gives their expiry; a token that is not a
JWT (the sandbox's) is taken to last the two hours docs/platforms.md states. `deleteSession` ends
the refresh token; the access token lives on until it expires, as the PDS keeps no list of
them, so a disconnect must also forget it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from core.config import Settings
from core.status import Platform
from providers.bluesky_errors import xrpc_error
from providers.connect.base import Candidate, ConnectorBase, Hosts, TokenSet
from providers.errors import AuthError, ProviderError, RateLimitedError, TransientError

ACCESS_LIFETIME = timedelta(hours=2)  # docs/platforms.md §7: "about 2 hours", for non-JWT tokens


def live_hosts(settings: Settings) -> Hosts:
    pds = settings.bluesky_pds_url
    return Hosts(authorize=pds, token=pds, api=pds)


class BlueskyConnector(ConnectorBase):
    # The app's OAuth client goes unused: an app password needs no app credentials.
    platform: ClassVar[Platform] = Platform.BLUESKY
    refreshable: ClassVar[bool] = True
    can_revoke: ClassVar[bool] = True

    async def login(self, *, identifier: str, password: str) -> list[Candidate]:
        session = await self._xrpc(
            "POST",
            "com.atproto.server.createSession",
            body={"identifier": identifier, "password": password},
        )
        if session.get("active") is False:
            status = session.get("status") or "inactive"
            raise AuthError(f"the account is {status}", platform="bluesky", code=str(status))
        did = str(session["did"])
        return [
            Candidate(
                external_id=did,
                display_name=str(session.get("handle") or did),
                tokens=_tokens(session),
            )
        ]

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise AuthError("no refresh token: log in again", platform="bluesky")
        session = await self._xrpc(
            "POST", "com.atproto.server.refreshSession", bearer=tokens.refresh_token
        )
        return _tokens(session).merged_into(tokens)

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        session = await self._xrpc(
            "GET", "com.atproto.server.getSession", bearer=tokens.access_token
        )
        self._belongs(external_id, session.get("did"), "Bluesky account")

    async def revoke(self, tokens: TokenSet) -> None:
        if tokens.refresh_token:
            await self._xrpc(
                "POST", "com.atproto.server.deleteSession", bearer=tokens.refresh_token
            )

    async def _xrpc(
        self, method: str, nsid: str, *, bearer: str | None = None, body: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = await self._send(
            self._http.request(method, f"{self._hosts.api}/xrpc/{nsid}", headers=headers, json=body)
        )
        if not response.is_success:
            raise _refused(response)
        if not response.content:
            return {}  # deleteSession answers 200 with no body
        answer: dict[str, Any] = response.json()
        return answer


def _refused(response: httpx.Response) -> ProviderError:
    """A session call the PDS refused: log in again, unless it was throttled or down. Even a
    400 means that here (ExpiredToken, InvalidToken, a malformed login)."""
    error = xrpc_error(response)
    if isinstance(error, RateLimitedError | TransientError | AuthError):
        return error
    return AuthError(
        error.message, platform="bluesky", code=error.code, http_status=error.http_status
    )


def _tokens(session: dict[str, Any]) -> TokenSet:
    access = str(session["accessJwt"])
    return TokenSet(
        access_token=access,
        refresh_token=session.get("refreshJwt"),
        expires_at=jwt_expiry(access) or datetime.now(UTC) + ACCESS_LIFETIME,
    )


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, unverified (the PDS verifies; this only schedules a refresh);
    None when the token is not a JWT or has no `exp`."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


CONNECTOR = BlueskyConnector
