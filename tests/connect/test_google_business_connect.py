"""Business Profile's connect flow against the sandbox: Google's OAuth, one candidate per
location, refresh without rotation, revocation of the whole consent."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect import google_business
from providers.connect.base import TokenSet
from providers.connect.google_business import GoogleBusinessConnector
from providers.errors import AuthError
from providers.google_business import GoogleBusinessProvider
from sandbox.tokens import issue_token
from tests.connect import flow
from tests.support import connector_checks as checks
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/google_business/callback"
LOCATIONS = [
    ("accounts/101/locations/201", "Sandbox Bakery - High Street"),
    ("accounts/101/locations/202", "Sandbox Bakery - Station Road"),
]


def _connector(http: httpx.AsyncClient, settings: Settings) -> GoogleBusinessConnector:
    return flow.sandbox_connector(GoogleBusinessConnector, http, settings)


async def test_connect_grants_each_location_and_the_token_posts_to_them(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    candidates = await flow.connect(http, connector, REDIRECT)
    assert [(c.external_id, c.display_name) for c in candidates] == LOCATIONS
    tokens = candidates[0].tokens
    assert tokens.refresh_token and tokens.expires_at is not None  # access_type=offline
    provider = checks.sandbox_provider(GoogleBusinessProvider, http, settings)
    await checks.tokens_publish(
        sandbox_http, connector, provider, PostContent(text="connected"), *candidates, checked=False
    )


async def test_locations_are_read_page_by_page(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(google_business, "PAGE_SIZE", 1)
    candidates = await flow.connect(http, _connector(http, settings), REDIRECT)
    assert [c.external_id for c in candidates] == [external_id for external_id, _ in LOCATIONS]


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    refused = await flow.exchanged_twice(http, _connector(http, settings), REDIRECT)
    assert refused.code == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    [wrong, _] = await checks.bound_to_redirect(
        http,
        _connector(http, settings),
        REDIRECT,
        elsewhere="https://evil.example/callback",
        spends=True,
    )
    assert wrong.code == "redirect_uri_mismatch"


async def test_a_refresh_brings_no_refresh_token_and_the_stored_one_is_kept(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [first, _] = await flow.connect(http, connector, REDIRECT)
    fresh = await flow.refreshed(connector, first.external_id, first.tokens, rotates=False)
    assert fresh.expires_at is not None
    again = await connector.refresh(fresh)  # Google's refresh tokens do not rotate
    await connector.verify(first.external_id, again)


async def test_revoking_ends_the_whole_consent(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [first, _] = await flow.connect(http, connector, REDIRECT)
    fresh = await connector.refresh(first.tokens)
    await connector.verify(first.external_id, fresh)
    await connector.revoke(first.tokens)  # sends the refresh token
    for tokens in (first.tokens, fresh):  # every access token minted under it dies with it
        with pytest.raises(AuthError):
            await connector.verify(first.external_id, tokens)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(first.tokens)
    assert refused.value.code == "invalid_grant"
    await connector.revoke(first.tokens)  # already revoked: nothing left to do, no error


async def test_another_person_gets_no_location_and_cannot_reach_ours(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    assert await flow.connect(http, connector, REDIRECT, user="555") == []
    theirs = TokenSet(issue_token(sandbox.secret, "google_business", "accounts/555"))
    with pytest.raises(AuthError) as refused:
        await connector.verify(LOCATIONS[0][0], theirs)
    assert refused.value.code == "PERMISSION_DENIED"


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert await flow.refusal(http, _connector(http, settings), REDIRECT) == "access_denied"
