"""Facebook's connect flow against the sandbox: the login, the long-lived exchange, the Pages
with their own Page tokens, and nothing to refresh or revoke."""

from __future__ import annotations

import time

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.connect.base import TokenSet
from providers.connect.facebook import FacebookConnector
from providers.errors import AuthError
from providers.facebook import FacebookProvider
from sandbox.tokens import issue_token, verify_token
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
    connector, url = flow.live_dialog(FacebookConnector, http, settings, REDIRECT)
    assert str(url.copy_with(query=None)) == "https://www.facebook.com/v23.0/dialog/oauth"
    assert url.params["scope"] == "pages_show_list,pages_manage_posts,pages_read_engagement"
    assert (url.params["client_id"], url.params["response_type"]) == ("app", "code")
    assert not (connector.uses_pkce or connector.refreshable or connector.can_revoke)


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


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    connector = _connector(http, settings)
    refused = await flow.exchanged_twice(http, connector, REDIRECT, match="has been used")
    assert refused.code == "100"


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await checks.bound_to_redirect(
        http,
        _connector(http, settings),
        REDIRECT,
        elsewhere=REDIRECT + "/x",
        match="redirect_uri is identical",
        spends=True,
    )


async def test_a_refusal_at_the_dialog_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert await flow.refusal(http, _connector(http, settings), REDIRECT) == "access_denied"


async def test_nothing_refreshes_and_verify_fails_once_the_page_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    bakery, bistro = await flow.connect(http, connector, REDIRECT)
    with pytest.raises(AuthError, match="reconnect"):
        await connector.refresh(bakery.tokens)
    await connector.revoke(bakery.tokens)  # nothing is revoked: the Page token still works
    await connector.verify(bakery.external_id, bakery.tokens)
    expired = issue_token(
        sandbox.secret, "facebook", bakery.external_id, expires_at=int(time.time()) - 1
    )
    with pytest.raises(AuthError) as refused:
        await connector.verify(bakery.external_id, TokenSet(access_token=expired))
    assert refused.value.code == "190/467"
    with pytest.raises(AuthError):
        await connector.verify(bistro.external_id, bakery.tokens)
