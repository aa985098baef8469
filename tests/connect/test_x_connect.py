"""X's connect flow against the sandbox: PKCE, single-use codes, rotating refresh tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent, Preparation
from providers.connect.base import Connector, Pkce
from providers.connect.registry import connector_for
from providers.connect.x import XConnector
from providers.errors import AuthError
from providers.registry import base_url
from providers.x import XProvider
from tests.support.oauth import consent

REDIRECT = "https://app.example/v1/oauth/x/callback"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _connector(http: httpx.AsyncClient, settings: Settings) -> Connector:
    connector = connector_for(Platform.X, http, settings, sandbox=True)
    assert isinstance(connector, XConnector)
    return connector


async def _connect(
    http: httpx.AsyncClient, settings: Settings, **choices: str
) -> tuple[Connector, Pkce, dict[str, str]]:
    connector = _connector(http, settings)
    pkce = Pkce.new()
    url = connector.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=pkce)
    answer = await consent(http, url, **choices)
    assert answer["state"] == "s1"
    return connector, pkce, answer


async def test_connect_grants_one_account_whose_token_publishes(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector, pkce, answer = await _connect(http, settings)
    [account] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=pkce)
    assert account.external_id == "1600000000000000001"
    assert account.tokens.refresh_token and account.tokens.expires_at is not None
    await connector.verify(account.external_id, account.tokens)
    provider = XProvider(http, base_url(Platform.X, settings, sandbox=True))
    credentials = AccountCredentials(account.external_id, account.tokens.access_token)
    await provider.publish(credentials, PostContent(text="connected"), Preparation())
    posts = (await sandbox_http.get("/_control/posts", params={"platform": "x"})).json()["data"]
    assert [p["account"] for p in posts] == [account.external_id]


async def test_a_code_is_single_use_and_bound_to_its_verifier(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, pkce, answer = await _connect(http, settings)
    with pytest.raises(AuthError):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=Pkce.new())
    # The failed try spent the code, as on X: the right verifier is now too late.
    with pytest.raises(AuthError):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=pkce)


async def test_refresh_tokens_rotate_and_a_spent_one_is_refused(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, pkce, answer = await _connect(http, settings)
    [account] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=pkce)
    fresh = await connector.refresh(account.tokens)
    assert fresh.refresh_token != account.tokens.refresh_token
    assert fresh.access_token != account.tokens.access_token
    await connector.verify(account.external_id, fresh)
    with pytest.raises(AuthError) as refused:
        await connector.refresh(account.tokens)
    assert refused.value.code == "invalid_request"


async def test_revoked_tokens_stop_working(http: httpx.AsyncClient, settings: Settings) -> None:
    connector, pkce, answer = await _connect(http, settings)
    [account] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=pkce)
    await connector.revoke(account.tokens)
    with pytest.raises(AuthError):
        await connector.verify(account.external_id, account.tokens)
    with pytest.raises(AuthError):
        await connector.refresh(account.tokens)


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    _, _, answer = await _connect(http, settings, decision="deny")
    assert answer["error"] == "access_denied" and "code" not in answer
