"""LinkedIn's connect flow against the sandbox: the member and the Pages they may post for,
refresh tokens that keep their year, revocation."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.base import Credentials, PostContent
from providers.connect import linkedin
from providers.connect.linkedin import LinkedInConnector
from providers.errors import AuthError
from providers.linkedin import LinkedInProvider
from tests.connect import flow
from tests.support import connector_checks as checks

REDIRECT = "https://app.example/v1/oauth/linkedin/callback"
MEMBER = "urn:li:person:sbxMember01"
GRANTED = [
    (MEMBER, "Sandbox Member"),
    ("urn:li:organization:101", "Sandbox Bakery"),
    ("urn:li:organization:102", "Sandbox Bakery Careers"),
]
ANALYST_ONLY = "urn:li:organization:103"  # the member's role there may not post


def _connector(http: httpx.AsyncClient, settings: Settings) -> LinkedInConnector:
    return flow.sandbox_connector(LinkedInConnector, http, settings)


async def test_connect_grants_the_member_and_their_pages_and_the_token_posts_as_each(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    candidates = await flow.connect(http, connector, REDIRECT)
    assert [(c.external_id, c.display_name) for c in candidates] == GRANTED
    tokens = candidates[0].tokens
    assert tokens.refresh_token and tokens.expires_at is not None
    provider = checks.sandbox_provider(LinkedInProvider, http, settings)
    connected = PostContent(text="connected")
    with pytest.raises(AuthError) as refused:
        await provider.publish(Credentials(ANALYST_ONLY, tokens.access_token), connected)
    assert refused.value.code == "ACCESS_DENIED"
    # One post for each account granted, and none for the refused one.
    await checks.tokens_publish(
        sandbox_http, connector, provider, connected, *candidates, checked=False
    )


async def test_organizations_are_read_page_by_page(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linkedin, "PAGE_SIZE", 1)
    candidates = await flow.connect(http, _connector(http, settings), REDIRECT)
    assert [c.external_id for c in candidates] == [urn for urn, _ in GRANTED]


async def test_another_member_is_granted_alone(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [member] = await flow.connect(http, connector, REDIRECT, user="someone")
    assert member.external_id == "urn:li:person:someone"
    with pytest.raises(AuthError):
        await connector.verify(MEMBER, member.tokens)


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [wrong, _] = await checks.bound_to_redirect(
        http, connector, REDIRECT, elsewhere="https://evil.example/callback", spends=True
    )
    assert wrong.code == "invalid_request"
    await flow.exchanged_twice(http, connector, REDIRECT)


async def test_a_refresh_answers_the_same_refresh_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [member, *_] = await flow.connect(http, connector, REDIRECT)
    await flow.refreshed(connector, MEMBER, member.tokens, rotates=False)
    await connector.verify(MEMBER, await connector.refresh(member.tokens))  # not spent


async def test_revoked_tokens_stop_working(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [member, *_] = await flow.connect(http, connector, REDIRECT)
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
    assert (
        await flow.refusal(http, _connector(http, settings), REDIRECT) == "user_cancelled_authorize"
    )
