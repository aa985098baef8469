"""Threads' connect flow against the sandbox: the code, the long-lived exchange, and refreshes
that turn a long-lived token into a new one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.base import TokenSet
from providers.connect.threads import ThreadsConnector
from providers.errors import AuthError
from providers.threads import ThreadsProvider
from sandbox.tokens import issue_token
from tests.connect import flow
from tests.support import connector_checks as checks
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/threads/callback"
USER = "27000000000000001"  # the sandbox user's Threads id
LONG_LIVED = timedelta(seconds=5_183_944)


def _connector(http: httpx.AsyncClient, settings: Settings) -> ThreadsConnector:
    return flow.sandbox_connector(ThreadsConnector, http, settings)


def _lasts_about_60_days(tokens: TokenSet) -> bool:
    assert tokens.expires_at is not None
    return abs(tokens.expires_at - (datetime.now(UTC) + LONG_LIVED)) < timedelta(minutes=1)


async def test_the_live_dialog_is_threads(http: httpx.AsyncClient, settings: Settings) -> None:
    connector, url = flow.live_dialog(ThreadsConnector, http, settings, REDIRECT)
    assert str(url.copy_with(query=None)) == "https://threads.net/oauth/authorize"
    assert url.params["scope"] == "threads_basic,threads_content_publish"
    assert (connector.uses_pkce, connector.refreshable, connector.can_revoke) == (
        False,
        True,
        False,
    )


async def test_connect_grants_a_long_lived_token_that_publishes(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
    assert (account.external_id, account.display_name) == (USER, "sandbox_0001")
    assert _lasts_about_60_days(account.tokens) and account.tokens.refresh_token is None
    provider = checks.sandbox_provider(ThreadsProvider, http, settings)
    await checks.tokens_publish(
        sandbox_http, connector, provider, PostContent(text="connected"), account
    )


async def test_a_refresh_turns_the_token_into_a_new_long_lived_one(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
    fresh = await connector.refresh(account.tokens)
    assert fresh.access_token != account.tokens.access_token
    assert _lasts_about_60_days(fresh) and fresh.refresh_token is None
    await connector.verify(account.external_id, fresh)


async def test_an_expired_token_neither_verifies_nor_refreshes(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    live = TokenSet(access_token=issue_token(sandbox.secret, "threads", USER))
    await connector.verify(USER, live)
    dead = TokenSet(
        access_token=issue_token(sandbox.secret, "threads", USER, expires_at=int(time.time()) - 1)
    )
    with pytest.raises(AuthError) as refused:
        await connector.verify(USER, dead)
    assert refused.value.code == "190/467"
    with pytest.raises(AuthError) as refused:
        await connector.refresh(dead)
    assert refused.value.code == "190"
    # A token of another Threads user is not this account's.
    with pytest.raises(AuthError, match="another Threads account"):
        await connector.verify("27000000000000002", live)
