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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import httpx

from core.status import Platform
from providers.errors import (
    AuthError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)

# OAuth error codes that mean "this grant is dead": the person must connect again.
# X answers a spent refresh token with invalid_request (PLATFORMS.md §5), not invalid_grant.
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
