"""YouTube's connect flow against the sandbox: Google's OAuth, then the signed-in channel."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.base import TokenSet
from providers.connect.youtube import YouTubeConnector
from providers.errors import AuthError
from providers.youtube import YouTubeProvider
from tests.connect import flow
from tests.support import connector_checks as checks

REDIRECT = "https://app.example/v1/oauth/youtube/callback"
CHANNEL = "UCsandboxuser00000000001"


def _connector(http: httpx.AsyncClient, settings: Settings) -> YouTubeConnector:
    return flow.sandbox_connector(YouTubeConnector, http, settings)


async def test_connect_grants_the_channel_whose_token_uploads(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    [channel] = await flow.connect(http, connector, REDIRECT)
    assert (channel.external_id, channel.display_name) == (CHANNEL, "Sandbox Channel")
    assert channel.tokens.refresh_token and channel.tokens.expires_at is not None
    provider = checks.sandbox_provider(YouTubeProvider, http, settings)
    video = PostContent(
        text="connected", media_urls=[f"{settings.sandbox_url}/youtube/media/connect.mp4"]
    )
    await checks.tokens_publish(sandbox_http, connector, provider, video, channel, checked=False)


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    wrong, spent = await checks.bound_to_redirect(
        http, connector, REDIRECT, elsewhere="https://evil.example/callback", spends=True
    )
    used = await flow.exchanged_twice(http, connector, REDIRECT)
    assert (wrong.code, spent.code, used.code) == (
        "redirect_uri_mismatch",
        "invalid_grant",
        "invalid_grant",
    )


async def test_a_refresh_keeps_the_stored_refresh_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [channel] = await flow.connect(http, connector, REDIRECT)
    await flow.refreshed(connector, CHANNEL, channel.tokens, rotates=False)


async def test_revoking_the_access_token_ends_the_refresh_token_too(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [channel] = await flow.connect(http, connector, REDIRECT)
    await connector.revoke(TokenSet(access_token=channel.tokens.access_token))
    with pytest.raises(AuthError):
        await connector.verify(CHANNEL, channel.tokens)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(channel.tokens)
    assert refused.value.code == "invalid_grant"


async def test_another_persons_token_does_not_verify_for_our_channel(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [theirs] = await flow.connect(http, connector, REDIRECT, user="other")
    assert theirs.external_id == "UCother"
    with pytest.raises(AuthError):
        await connector.verify(CHANNEL, theirs.tokens)


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert await flow.refusal(http, _connector(http, settings), REDIRECT) == "access_denied"
