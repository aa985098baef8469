"""Connecting an account: the OAuth (or login) exchange, refresh, revoke and a health check.

Publishing lives in the provider modules; getting and keeping a token lives here, one module
per platform, all shaped alike. A connector never stores anything: it turns a code into tokens,
a refresh token into new tokens, and says what a token may publish to. The caller (the API or
an activity) encrypts and stores.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlencode

import httpx

from core.status import Platform
from providers.errors import (
    AuthError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)
from providers.http import answered

# OAuth error codes that mean "this grant is dead": the person must connect again.
# X answers a spent refresh token with invalid_request (docs/platforms.md §5), not invalid_grant.
REFUSED_GRANTS = frozenset(
    {"invalid_grant", "invalid_request", "invalid_token", "unauthorized_client", "access_denied"}
)


@dataclass(frozen=True)
class OAuthClient:
    """The app's own credentials at a platform (the sandbox has its own pair)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Hosts:
    """Where a platform's user-facing consent page, token endpoint and API live.

    Live platforms split these over several hosts; the sandbox serves all three under
    `{sandbox_url}/{platform}` with the same paths.
    """

    authorize: str
    token: str
    api: str

    @classmethod
    def sandbox(cls, sandbox_url: str, platform: Platform) -> Hosts:
        root = f"{sandbox_url.rstrip('/')}/{platform.value}"
        return cls(authorize=root, token=root, api=root)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None  # None: the token does not expire (Facebook Page tokens)

    def merged_into(self, previous: TokenSet) -> TokenSet:
        """A refresh answer over what was stored: a platform that sends no new refresh token
        (Google, sometimes Pinterest) keeps the old one; an empty one never overwrites it."""
        return TokenSet(
            access_token=self.access_token,
            refresh_token=self.refresh_token or previous.refresh_token,
            expires_at=self.expires_at,
        )


@dataclass(frozen=True)
class Candidate:
    """One account a login grants: a Page, a location, a board, a person or organization."""

    external_id: str
    display_name: str
    tokens: TokenSet


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        # RFC 7636: 43 to 128 characters from the unreserved set; S256 of it as the challenge.
        verifier = secrets.token_urlsafe(64)[:96]
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(
            verifier=verifier, challenge=base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        )


def expires_in(seconds: Any, *, now: datetime | None = None) -> datetime | None:
    """An absolute expiry from a token answer's `expires_in` (absent or 0: no expiry)."""
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=int(seconds))


def oauth_error(platform: Platform, response: httpx.Response) -> ProviderError:
    """An OAuth endpoint's refusal in the provider taxonomy. A refused grant is an AuthError
    (reconnect), a 5xx or timeout is transient, 429 waits."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    nested = body.get("error") if isinstance(body.get("error"), dict) else None
    code = str((nested or {}).get("code") or body.get("error") or "") or None
    description = (
        body.get("error_description")
        or (nested or {}).get("message")
        or body.get("message")
        or body.get("detail")
        or f"HTTP {response.status_code}"
    )
    status = response.status_code
    if status == 429:
        return RateLimitedError(
            str(description),
            platform=platform.value,
            code=code,
            http_status=status,
            retry_after=retry_after(response.headers),
        )
    if status >= 500:
        return TransientError(
            str(description), platform=platform.value, code=code, http_status=status
        )
    return AuthError(str(description), platform=platform.value, code=code, http_status=status)


class Connector(Protocol):
    """An OAuth 2.0 authorization-code connection."""

    platform: ClassVar[Platform]
    uses_pkce: ClassVar[bool]  # X requires PKCE; TikTok accepts it
    refreshable: ClassVar[bool]  # False: a token that expires needs a new login (Facebook)
    can_revoke: ClassVar[bool]  # the platform has an endpoint to revoke a token

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None: ...

    def authorization_url(self, *, state: str, redirect_uri: str, pkce: Pkce | None) -> str: ...

    async def exchange(
        self, *, code: str, redirect_uri: str, pkce: Pkce | None
    ) -> list[Candidate]: ...

    async def refresh(self, tokens: TokenSet) -> TokenSet: ...

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        """A cheap authenticated call; raises AuthError when the token no longer works."""
        ...

    async def revoke(self, tokens: TokenSet) -> None: ...


class PasswordConnector(Protocol):
    """A connection made with the account's own login (Bluesky app passwords)."""

    platform: ClassVar[Platform]
    refreshable: ClassVar[bool]
    can_revoke: ClassVar[bool]

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None: ...

    async def login(self, *, identifier: str, password: str) -> list[Candidate]: ...

    async def refresh(self, tokens: TokenSet) -> TokenSet: ...

    async def verify(self, external_id: str, tokens: TokenSet) -> None: ...

    async def revoke(self, tokens: TokenSet) -> None: ...


class ConnectorBase:
    """What every connector shares: the HTTP client, the platform's hosts and the app's
    credentials, and the plumbing of RFC 6749 that no platform changes. Each platform's
    connector subclasses it and keeps only its own paths, parameter names and answers."""

    platform: ClassVar[Platform]

    def __init__(self, http: httpx.AsyncClient, hosts: Hosts, client: OAuthClient) -> None:
        self._http = http
        self._hosts = hosts
        self._client = client

    def _authorization_url(self, path: str, query: dict[str, str], pkce: Pkce | None = None) -> str:
        """The consent page: `path` on the authorize host with the platform's `query`, and the
        PKCE challenge (RFC 7636, S256) when one is given."""
        if pkce is not None:
            query = query | {"code_challenge": pkce.challenge, "code_challenge_method": "S256"}
        return f"{self._hosts.authorize}{path}?{urlencode(query)}"

    @staticmethod
    def _code_grant(code: str, redirect_uri: str, pkce: Pkce | None = None) -> dict[str, str]:
        """The authorization_code grant's form, with the PKCE verifier when one is given."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if pkce is not None:
            form["code_verifier"] = pkce.verifier
        return form

    def _refresh_grant(self, tokens: TokenSet) -> dict[str, str]:
        """The refresh_token grant's form; a login that granted no refresh token must be made
        again (AuthError)."""
        if not tokens.refresh_token:
            raise AuthError(
                "no refresh token was granted: reconnect the account", platform=self.platform.value
            )
        return {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}

    def _credentials(self) -> dict[str, str]:
        """The app's credentials for a token endpoint that takes them in the form
        (client_secret_post)."""
        return {"client_id": self._client.client_id, "client_secret": self._client.client_secret}

    def _basic_auth(self) -> tuple[str, str]:
        """The app's credentials for an endpoint that takes them as HTTP Basic
        (client_secret_basic)."""
        return (self._client.client_id, self._client.client_secret)

    async def _grant(self, path: str, form: dict[str, str], *, basic: bool = False) -> TokenSet:
        """Posts a grant's form to the token endpoint at `path` and reads its answer; `basic`:
        the app authenticates with HTTP Basic rather than in the form."""
        auth = self._basic_auth() if basic else httpx.USE_CLIENT_DEFAULT
        return self._granted(
            await self._send(self._http.post(f"{self._hosts.token}{path}", data=form, auth=auth))
        )

    def _granted(self, response: httpx.Response) -> TokenSet:
        """A token endpoint's answer as a TokenSet (RFC 6749 §5.1), or its refusal raised."""
        if response.status_code != 200:
            raise self._refused(response)
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expires_in(body.get("expires_in")),
        )

    def _refused(self, response: httpx.Response) -> ProviderError:
        """An OAuth endpoint's refusal (`oauth_error`); a platform whose errors say more adds it."""
        return oauth_error(self.platform, response)

    def _belongs(self, external_id: str, found: Any, account: str) -> None:
        """Raises AuthError unless `found`, the id of the account a token is for, is
        `external_id`; `account` names the kind in the message ("X account")."""
        if str(found) != external_id:
            raise AuthError(f"the token belongs to another {account}", platform=self.platform.value)

    @staticmethod
    def bearer(tokens: TokenSet) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access_token}"}

    async def _api_get(
        self,
        path: str,
        tokens: TokenSet,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A GET of `path` on the API host with the access token as the Bearer: in a header,
        never in a URL that a proxy or a log could keep."""
        return await self._send(
            self._http.get(
                f"{self._hosts.api}{path}",
                params=params,
                headers=self.bearer(tokens) | (headers or {}),
            )
        )

    async def _send(self, request: Awaitable[httpx.Response]) -> httpx.Response:
        return await answered(self.platform.value, request)
