"""Pinterest's connect flow against the sandbox: one account per board, HTTP Basic, single-use
codes, refresh tokens that stay good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.connect import pinterest as pinterest_connect
from providers.connect.base import TokenSet
from providers.connect.pinterest import PinterestConnector
from providers.errors import AuthError, ContentError
from providers.pinterest import PinterestProvider
from sandbox.pinterest import DEFAULT_BOARDS
from tests.connect import flow
from tests.support import connector_checks as checks

REDIRECT = "https://app.example/v1/oauth/pinterest/callback"
PIN = PostContent(text="Flat white", media_urls=["https://cdn.example.org/flat-white.jpg"])


def _connector(http: httpx.AsyncClient, settings: Settings) -> PinterestConnector:
    return flow.sandbox_connector(PinterestConnector, http, settings)


async def test_the_url_asks_for_the_board_and_pin_scopes(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    url = _connector(http, settings).authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parts.path == "/pinterest/oauth/"
    assert query == {
        "client_id": settings.sandbox_client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "boards:read,pins:read,pins:write,user_accounts:read",
        "state": "s1",
    }


async def test_connect_grants_each_board_and_the_token_pins_to_it(
    http: httpx.AsyncClient, settings: Settings, sandbox_http: httpx.AsyncClient
) -> None:
    connector = _connector(http, settings)
    accounts = await flow.connect(http, connector, REDIRECT)

    assert [(a.external_id, a.display_name) for a in accounts] == [
        (board.id, f"sandbox_pinner / {board.name}") for board in DEFAULT_BOARDS
    ]
    tokens = accounts[1].tokens
    assert tokens.refresh_token and tokens.expires_at is not None
    lifetime = tokens.expires_at - datetime.now(UTC)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)
    provider = checks.sandbox_provider(PinterestProvider, http, settings)
    credentials = Credentials(accounts[1].external_id, tokens.access_token)
    await provider.publish(credentials, PIN, Preparation())
    pins = await flow.sandbox_posts(sandbox_http, Platform.PINTEREST)
    assert [p["account"] for p in pins] == [DEFAULT_BOARDS[1].id]


async def test_a_token_pins_only_to_its_own_boards(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    [theirs, _] = await flow.connect(
        http, _connector(http, settings), REDIRECT, user="someone_else"
    )
    assert theirs.external_id not in {board.id for board in DEFAULT_BOARDS}
    provider = checks.sandbox_provider(PinterestProvider, http, settings)
    credentials = Credentials(DEFAULT_BOARDS[0].id, theirs.tokens.access_token)
    with pytest.raises(ContentError, match="Board not found"):
        await provider.publish(credentials, PIN, Preparation())


async def test_every_page_of_boards_is_read(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinterest_connect, "PAGE_SIZE", 1)  # one board a page: a bookmark
    connector = _connector(http, settings)
    accounts = await flow.connect(http, connector, REDIRECT)
    assert [a.external_id for a in accounts] == [board.id for board in DEFAULT_BOARDS]


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    answer = await flow.authorize(http, connector, REDIRECT)
    refused = await flow.refused_exchange(connector, answer["code"], "https://elsewhere.example/cb")
    assert refused.http_status == 400
    # The failed try spent the code: the right redirect_uri is now too late.
    await flow.refused_exchange(connector, answer["code"], REDIRECT)


async def test_a_refresh_keeps_the_refresh_token(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [account, _] = await flow.connect(http, connector, REDIRECT)

    fresh = await connector.refresh(account.tokens)
    again = await connector.refresh(account.tokens)  # not single use

    assert fresh.refresh_token == again.refresh_token == account.tokens.refresh_token
    assert len({account.tokens.access_token, fresh.access_token, again.access_token}) == 3
    await connector.verify(account.external_id, again)


async def test_verify_refuses_a_forged_token(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    [account, _] = await flow.connect(http, connector, REDIRECT)
    await connector.verify(account.external_id, account.tokens)

    payload, _, _ = account.tokens.access_token.rpartition(".")
    forged = TokenSet(f"{payload}.{'0' * 40}")  # the right shape, a signature never issued
    with pytest.raises(AuthError) as refused:
        await connector.verify(account.external_id, forged)
    assert refused.value.http_status == 401


async def test_a_refusal_at_the_consent_screen_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert await flow.refusal(http, _connector(http, settings), REDIRECT) == "access_denied"
