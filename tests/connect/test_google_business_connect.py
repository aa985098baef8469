"""Business Profile's connect flow against the sandbox: Google's OAuth, one candidate per
location, refresh without rotation, revocation of the whole consent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent, Preparation
from providers.connect import google_business
from providers.connect.base import Candidate, TokenSet
from providers.connect.google_business import GoogleBusinessConnector
from providers.connect.registry import connector_for
from providers.errors import AuthError
from providers.google_business import GoogleBusinessProvider
from providers.registry import base_url
from sandbox.tokens import issue_token
from tests.support.oauth import consent
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/google_business/callback"
LOCATIONS = [
    ("accounts/101/locations/201", "Sandbox Bakery - High Street"),
    ("accounts/101/locations/202", "Sandbox Bakery - Station Road"),
]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _connector(http: httpx.AsyncClient, settings: Settings) -> GoogleBusinessConnector:
    connector = connector_for(Platform.GOOGLE_BUSINESS, http, settings, sandbox=True)
    assert isinstance(connector, GoogleBusinessConnector)
    return connector


async def _code(http: httpx.AsyncClient, settings: Settings, **choices: str) -> dict[str, str]:
    url = _connector(http, settings).authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    answer = await consent(http, url, **choices)
    assert answer["state"] == "s1"
    return answer


async def _connect(http: httpx.AsyncClient, settings: Settings, **choices: str) -> list[Candidate]:
    answer = await _code(http, settings, **choices)
    return await _connector(http, settings).exchange(
        code=answer["code"], redirect_uri=REDIRECT, pkce=None
    )


async def test_connect_grants_each_location_and_the_token_posts_to_them(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    candidates = await _connect(http, settings)
    assert [(c.external_id, c.display_name) for c in candidates] == LOCATIONS
    tokens = candidates[0].tokens
    assert tokens.refresh_token and tokens.expires_at is not None  # access_type=offline
    provider = GoogleBusinessProvider(
        http, base_url(Platform.GOOGLE_BUSINESS, settings, sandbox=True)
    )
    for candidate in candidates:
        await _connector(http, settings).verify(candidate.external_id, candidate.tokens)
        credentials = AccountCredentials(candidate.external_id, candidate.tokens.access_token)
        await provider.publish(credentials, PostContent(text="connected"), Preparation())
    posts = (
        await sandbox_http.get("/_control/posts", params={"platform": "google_business"})
    ).json()["data"]
    assert sorted(p["account"] for p in posts) == [external_id for external_id, _ in LOCATIONS]


async def test_locations_are_read_page_by_page(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(google_business, "PAGE_SIZE", 1)
    candidates = await _connect(http, settings)
    assert [c.external_id for c in candidates] == [external_id for external_id, _ in LOCATIONS]


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    answer = await _code(http, settings)
    await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    with pytest.raises(AuthError) as refused:
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert refused.value.code == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    answer = await _code(http, settings)
    with pytest.raises(AuthError) as refused:
        await connector.exchange(
            code=answer["code"], redirect_uri="https://evil.example/callback", pkce=None
        )
    assert refused.value.code == "redirect_uri_mismatch"
    with pytest.raises(AuthError):  # the failed try spent it
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)


async def test_a_refresh_brings_no_refresh_token_and_the_stored_one_is_kept(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [first, _] = await _connect(http, settings)
    fresh = await connector.refresh(first.tokens)
    assert fresh.refresh_token == first.tokens.refresh_token
    assert fresh.access_token != first.tokens.access_token and fresh.expires_at is not None
    await connector.verify(first.external_id, fresh)
    again = await connector.refresh(fresh)  # Google's refresh tokens do not rotate
    await connector.verify(first.external_id, again)


async def test_revoking_ends_the_whole_consent(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [first, _] = await _connect(http, settings)
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
    assert await _connect(http, settings, user="555") == []
    theirs = TokenSet(issue_token(sandbox.secret, "google_business", "accounts/555"))
    with pytest.raises(AuthError) as refused:
        await _connector(http, settings).verify(LOCATIONS[0][0], theirs)
    assert refused.value.code == "PERMISSION_DENIED"


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await _code(http, settings, decision="deny")
    assert answer["error"] == "access_denied" and "code" not in answer
