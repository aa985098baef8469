"""TikTok's connect flow against the sandbox: client_key, PKCE, single-use codes, rotating
refresh tokens, revocation that disconnects the app."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.base import Hosts, OAuthClient, Pkce, TokenSet
from providers.connect.tiktok import TikTokConnector
from providers.errors import AuthError
from providers.tiktok import TikTokProvider
from sandbox.logins.tiktok import DEFAULT_OPEN_ID
from tests.connect import flow
from tests.support import connector_checks as checks

REDIRECT = "https://app.example/v1/oauth/tiktok/callback"


def _connector(http: httpx.AsyncClient, settings: Settings) -> TikTokConnector:
    return flow.sandbox_connector(TikTokConnector, http, settings)


async def _connect(
    http: httpx.AsyncClient, settings: Settings, **choices: str
) -> tuple[TikTokConnector, Pkce, dict[str, str]]:
    connector, pkce = _connector(http, settings), Pkce.new()
    return connector, pkce, await flow.authorize(http, connector, REDIRECT, pkce=pkce, **choices)


async def test_the_url_names_the_app_by_client_key_and_carries_pkce(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    pkce = Pkce.new()
    url = _connector(http, settings).authorization_url(state="s1", redirect_uri=REDIRECT, pkce=pkce)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parts.path == "/tiktok/v2/auth/authorize/"
    assert "client_id" not in query
    assert query["client_key"] == settings.sandbox_client_id
    assert query["scope"] == "user.info.basic,video.list,video.publish,video.upload"
    assert (query["code_challenge"], query["code_challenge_method"]) == (pkce.challenge, "S256")


async def test_connect_grants_the_creator_whose_token_publishes(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT, pkce=Pkce.new())

    assert account.external_id == DEFAULT_OPEN_ID
    assert account.tokens.refresh_token
    assert account.tokens.expires_at is not None
    lifetime = account.tokens.expires_at - datetime.now(UTC)
    assert timedelta(hours=23) < lifetime <= timedelta(hours=24)  # the answer's expires_in
    provider = checks.sandbox_provider(TikTokProvider, http, settings)
    content = PostContent(text="connected", media_urls=["https://cdn.example.org/clip.mp4"])
    await checks.tokens_publish(sandbox_http, connector, provider, content, account)


async def test_a_code_is_single_use_and_bound_to_its_verifier(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, pkce, answer = await _connect(http, settings)
    wrong = await flow.refused_exchange(connector, answer["code"], REDIRECT, pkce=Pkce.new())
    assert wrong.code == "invalid_grant"
    # The failed try spent the code: the right verifier is now too late.
    await flow.refused_exchange(connector, answer["code"], REDIRECT, pkce=pkce)


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    [refused] = await checks.bound_to_redirect(
        http,
        _connector(http, settings),
        REDIRECT,
        elsewhere="https://elsewhere.example/cb",
        spends=False,
        pkce=Pkce.new(),
    )
    assert refused.code == "invalid_grant"


async def test_refresh_tokens_rotate_and_a_spent_one_is_invalid_grant(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    refused = await checks.spent_refresh_token(http, _connector(http, settings), REDIRECT)
    assert (refused.code, refused.http_status) == ("invalid_grant", 400)


async def test_revoking_disconnects_the_app(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT, pkce=Pkce.new())
    await connector.verify(account.external_id, account.tokens)

    await connector.revoke(account.tokens)

    with pytest.raises(AuthError) as refused:
        await connector.verify(account.external_id, account.tokens)
    assert refused.value.code == "access_token_invalid"
    with pytest.raises(AuthError):
        await connector.refresh(account.tokens)  # TikTok ends the app's grant, not one token


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert (
        await flow.refusal(http, _connector(http, settings), REDIRECT, pkce=Pkce.new())
        == "access_denied"
    )


async def test_an_oauth_error_sent_with_http_200_is_still_a_refusal() -> None:
    """Clients report TikTok answering OAuth errors with 200 too; the body must decide."""
    error = {"error": "invalid_grant", "error_description": "Refresh token is invalid."}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=json.dumps(error)))
    async with httpx.AsyncClient(transport=transport) as http:
        connector = TikTokConnector(
            http,
            Hosts("https://t.example", "https://t.example", "https://t.example"),
            OAuthClient("key", "secret"),
        )
        with pytest.raises(AuthError) as refused:
            await connector.refresh(TokenSet("access", "refresh"))
    assert refused.value.code == "invalid_grant"
