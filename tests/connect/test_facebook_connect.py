"""Facebook's connect flow against the sandbox: the login, the long-lived exchange, the Pages
with their own Page tokens, and nothing to refresh or revoke."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.connect.facebook import FacebookConnector
from providers.errors import AuthError
from providers.facebook import FacebookProvider
from sandbox.tokens import verify_token
from tests.connect import flow
from tests.support import connector_checks as checks
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/facebook/callback"
BAKERY = ("100000000000011", "Sandbox Bakery")
BISTRO = ("100000000000012", "Sandbox Bistro")


def _connector(http: httpx.AsyncClient, settings: Settings) -> FacebookConnector:
    return flow.sandbox_connector(FacebookConnector, http, settings)


async def test_the_live_dialog_is_facebook_logins_with_page_permissions(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    url = checks.facebook_login_dialog(FacebookConnector, http, settings, REDIRECT)
    assert url.params["scope"] == "pages_show_list,pages_manage_posts,pages_read_engagement"
    assert (url.params["client_id"], url.params["response_type"]) == ("app", "code")


async def test_connect_lists_the_pages_each_with_a_token_that_publishes_to_it_alone(
    http: httpx.AsyncClient,
    settings: Settings,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, settings)
    pages = await flow.connect(http, connector, REDIRECT)
    assert [(page.external_id, page.display_name) for page in pages] == [BAKERY, BISTRO]
    assert all(p.tokens.expires_at is None and p.tokens.refresh_token is None for p in pages)
    # Only Page tokens taken from the long-lived user token never expire (the sandbox's say so).
    claims = [verify_token(sandbox.secret, p.tokens.access_token) for p in pages]
    assert [(c.subject, c.expires_at) for c in claims if c] == [(BAKERY[0], 0), (BISTRO[0], 0)]
    bakery, bistro = pages
    await connector.verify(bakery.external_id, bakery.tokens)
    provider = checks.sandbox_provider(FacebookProvider, http, settings)
    token = bakery.tokens.access_token
    await provider.publish(
        Credentials(bakery.external_id, token), PostContent(text="connected"), Preparation()
    )
    with pytest.raises(AuthError):
        await provider.publish(
            Credentials(bistro.external_id, token),
            PostContent(text="elsewhere"),
            Preparation(),
        )
    posts = await flow.sandbox_posts(sandbox_http, Platform.FACEBOOK)
    assert [(p["account"], p["text"]) for p in posts] == [(bakery.external_id, "connected")]


async def test_the_page_list_is_followed_through_its_paging_links(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FacebookConnector, "page_size", 1)
    listed: list[httpx.URL] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/me/accounts"):
            listed.append(request.url)

    http.event_hooks["request"].append(record)
    connector = _connector(http, settings)
    pages = await flow.connect(http, connector, REDIRECT)
    assert [page.external_id for page in pages] == [BAKERY[0], BISTRO[0]]
    assert len(listed) == 2
    # Graph's next link repeats the token in its query: it travels in a header instead.
    assert all("access_token" not in url.params for url in listed)


async def test_another_person_gets_their_own_pages(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = _connector(http, settings)
    [page] = await flow.connect(http, connector, REDIRECT, user="alice")
    assert page.external_id not in (BAKERY[0], BISTRO[0])
    await connector.verify(page.external_id, page.tokens)


async def test_nothing_refreshes_and_verify_fails_once_the_page_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    bakery, bistro = await flow.connect(http, connector, REDIRECT)
    await checks.lives_until_it_expires(connector, bakery, sandbox.secret)
    with pytest.raises(AuthError):
        await connector.verify(bistro.external_id, bakery.tokens)
