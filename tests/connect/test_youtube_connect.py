"""YouTube's connect flow against the sandbox: Google's OAuth, then the signed-in channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent
from providers.connect.base import Candidate, TokenSet
from providers.connect.registry import connector_for
from providers.connect.youtube import YouTubeConnector
from providers.errors import AuthError
from providers.registry import base_url
from providers.youtube import YouTubeProvider
from tests.support.oauth import consent

REDIRECT = "https://app.example/v1/oauth/youtube/callback"
CHANNEL = "UCsandboxuser00000000001"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _connector(http: httpx.AsyncClient, settings: Settings) -> YouTubeConnector:
    connector = connector_for(Platform.YOUTUBE, http, settings, sandbox=True)
    assert isinstance(connector, YouTubeConnector)
    return connector


async def _code(http: httpx.AsyncClient, settings: Settings, **choices: str) -> dict[str, str]:
    url = _connector(http, settings).authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    answer = await consent(http, url, **choices)
    assert answer["state"] == "s1"
    return answer


async def _connect(http: httpx.AsyncClient, settings: Settings, **choices: str) -> Candidate:
    answer = await _code(http, settings, **choices)
    [channel] = await _connector(http, settings).exchange(
        code=answer["code"], redirect_uri=REDIRECT, pkce=None
    )
    return channel


async def test_connect_grants_the_channel_whose_token_uploads(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    channel = await _connect(http, settings)
    assert (channel.external_id, channel.display_name) == (CHANNEL, "Sandbox Channel")
    assert channel.tokens.refresh_token and channel.tokens.expires_at is not None
    await _connector(http, settings).verify(channel.external_id, channel.tokens)
    provider = YouTubeProvider(http, base_url(Platform.YOUTUBE, settings, sandbox=True))
    credentials = AccountCredentials(channel.external_id, channel.tokens.access_token)
    video = PostContent(
        text="connected", media_urls=[f"{settings.sandbox_url}/youtube/media/connect.mp4"]
    )
    prepared = await provider.prepare(credentials, video)
    await provider.publish(credentials, video, prepared)
    posts = (await sandbox_http.get("/_control/posts", params={"platform": "youtube"})).json()
    assert [p["account"] for p in posts["data"]] == [CHANNEL]


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    answer = await _code(http, settings)
    with pytest.raises(AuthError) as refused:
        await connector.exchange(
            code=answer["code"], redirect_uri="https://evil.example/callback", pkce=None
        )
    assert refused.value.code == "redirect_uri_mismatch"
    used = await _code(http, settings)
    await connector.exchange(code=used["code"], redirect_uri=REDIRECT, pkce=None)
    for code in (answer["code"], used["code"]):
        with pytest.raises(AuthError) as refused:
            await connector.exchange(code=code, redirect_uri=REDIRECT, pkce=None)
        assert refused.value.code == "invalid_grant"


async def test_a_refresh_keeps_the_stored_refresh_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    channel = await _connect(http, settings)
    fresh = await connector.refresh(channel.tokens)
    assert fresh.refresh_token == channel.tokens.refresh_token
    assert fresh.access_token != channel.tokens.access_token
    await connector.verify(CHANNEL, fresh)


async def test_revoking_the_access_token_ends_the_refresh_token_too(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    channel = await _connect(http, settings)
    await connector.revoke(TokenSet(access_token=channel.tokens.access_token))
    with pytest.raises(AuthError):
        await connector.verify(CHANNEL, channel.tokens)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(channel.tokens)
    assert refused.value.code == "invalid_grant"


async def test_another_persons_token_does_not_verify_for_our_channel(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    theirs = await _connect(http, settings, user="other")
    assert theirs.external_id == "UCother"
    with pytest.raises(AuthError):
        await _connector(http, settings).verify(CHANNEL, theirs.tokens)


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await _code(http, settings, decision="deny")
    assert answer["error"] == "access_denied" and "code" not in answer
