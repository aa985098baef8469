"""X's connect flow against the sandbox: PKCE, single-use codes, rotating refresh tokens."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.base import Pkce
from providers.connect.x import XConnector
from providers.errors import AuthError
from providers.x import XProvider
from tests.connect import flow
from tests.support import connector_checks as checks

REDIRECT = "https://app.example/v1/oauth/x/callback"


def _connector(http: httpx.AsyncClient, settings: Settings) -> XConnector:
    return flow.sandbox_connector(XConnector, http, settings)


async def test_connect_grants_one_account_whose_token_publishes(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT, pkce=Pkce.new())
    assert account.external_id == "1600000000000000001"
    assert account.tokens.refresh_token and account.tokens.expires_at is not None
    provider = checks.sandbox_provider(XProvider, http, settings)
    await checks.tokens_publish(
        sandbox_http, connector, provider, PostContent(text="connected"), account, checked=False
    )


async def test_a_code_is_single_use_and_bound_to_its_verifier(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, pkce = _connector(http, settings), Pkce.new()
    answer = await flow.authorize(http, connector, REDIRECT, pkce=pkce)
    await flow.refused_exchange(connector, answer["code"], REDIRECT, pkce=Pkce.new())
    # The failed try spent the code, as on X: the right verifier is now too late.
    await flow.refused_exchange(connector, answer["code"], REDIRECT, pkce=pkce)


async def test_refresh_tokens_rotate_and_a_spent_one_is_refused(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    refused = await checks.spent_refresh_token(http, _connector(http, settings), REDIRECT)
    assert refused.code == "invalid_request"


async def test_revoked_tokens_stop_working(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT, pkce=Pkce.new())
    await connector.revoke(account.tokens)
    with pytest.raises(AuthError):
        await connector.verify(account.external_id, account.tokens)
    with pytest.raises(AuthError):
        await connector.refresh(account.tokens)


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    assert await flow.refusal(http, connector, REDIRECT, pkce=Pkce.new()) == "access_denied"
