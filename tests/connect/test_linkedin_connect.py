"""LinkedIn's connect flow against the sandbox: the member and the Pages they may post for,
refresh tokens that keep their year, revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent
from providers.connect import linkedin
from providers.connect.base import Candidate
from providers.connect.linkedin import LinkedInConnector
from providers.connect.registry import connector_for
from providers.errors import AuthError
from providers.linkedin import LinkedInProvider
from providers.registry import base_url
from tests.support.oauth import consent

REDIRECT = "https://app.example/v1/oauth/linkedin/callback"
MEMBER = "urn:li:person:sbxMember01"
GRANTED = [
    (MEMBER, "Sandbox Member"),
    ("urn:li:organization:101", "Sandbox Bakery"),
    ("urn:li:organization:102", "Sandbox Bakery Careers"),
]
ANALYST_ONLY = "urn:li:organization:103"  # the member's role there may not post


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _connector(http: httpx.AsyncClient, settings: Settings) -> LinkedInConnector:
    connector = connector_for(Platform.LINKEDIN, http, settings, sandbox=True)
    assert isinstance(connector, LinkedInConnector)
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


async def test_connect_grants_the_member_and_their_pages_and_the_token_posts_as_each(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    candidates = await _connect(http, settings)
    assert [(c.external_id, c.display_name) for c in candidates] == GRANTED
    tokens = candidates[0].tokens
    assert tokens.refresh_token and tokens.expires_at is not None
    provider = LinkedInProvider(http, base_url(Platform.LINKEDIN, settings, sandbox=True))
    for candidate in candidates:
        await _connector(http, settings).verify(candidate.external_id, candidate.tokens)
        credentials = AccountCredentials(candidate.external_id, candidate.tokens.access_token)
        await provider.publish(credentials, PostContent(text="connected"))
    with pytest.raises(AuthError) as refused:
        credentials = AccountCredentials(ANALYST_ONLY, tokens.access_token)
        await provider.publish(credentials, PostContent(text="connected"))
    assert refused.value.code == "ACCESS_DENIED"
    posts = (await sandbox_http.get("/_control/posts", params={"platform": "linkedin"})).json()
    assert sorted(p["account"] for p in posts["data"]) == sorted(urn for urn, _ in GRANTED)


async def test_organizations_are_read_page_by_page(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkedin, "PAGE_SIZE", 1)
    candidates = await _connect(http, settings)
    assert [c.external_id for c in candidates] == [urn for urn, _ in GRANTED]


async def test_another_member_is_granted_alone(http: httpx.AsyncClient, settings: Settings) -> None:
    [member] = await _connect(http, settings, user="someone")
    assert member.external_id == "urn:li:person:someone"
    with pytest.raises(AuthError):
        await _connector(http, settings).verify(MEMBER, member.tokens)


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    answer = await _code(http, settings)
    with pytest.raises(AuthError) as refused:
        await connector.exchange(
            code=answer["code"], redirect_uri="https://evil.example/callback", pkce=None
        )
    assert refused.value.code == "invalid_request"
    used = await _code(http, settings)
    await connector.exchange(code=used["code"], redirect_uri=REDIRECT, pkce=None)
    for code in (answer["code"], used["code"]):
        with pytest.raises(AuthError):
            await connector.exchange(code=code, redirect_uri=REDIRECT, pkce=None)


async def test_a_refresh_answers_the_same_refresh_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [member, *_] = await _connect(http, settings)
    fresh = await connector.refresh(member.tokens)
    assert fresh.refresh_token == member.tokens.refresh_token
    assert fresh.access_token != member.tokens.access_token
    await connector.verify(MEMBER, fresh)
    await connector.verify(MEMBER, await connector.refresh(member.tokens))  # not spent


async def test_revoked_tokens_stop_working(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [member, *_] = await _connect(http, settings)
    await connector.revoke(member.tokens)
    with pytest.raises(AuthError) as refused:
        await connector.verify(MEMBER, member.tokens)
    assert refused.value.code == "65601"  # REVOKED_ACCESS_TOKEN, not an invalid one
    with pytest.raises(AuthError) as refused:
        await connector.refresh(member.tokens)
    # LinkedIn's own code for a dead refresh token (not Google's invalid_grant).
    assert refused.value.code == "invalid_request"


async def test_a_refusal_at_the_consent_screen_comes_back_in_linkedins_words(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await _code(http, settings, decision="deny")
    assert answer["error"] == "user_cancelled_authorize" and "code" not in answer
