"""Facebook's connect flow against the sandbox: the login, the long-lived exchange, the Pages
with their own Page tokens, and nothing to refresh or revoke."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent, Preparation
from providers.connect.base import Connector, OAuthClient, TokenSet
from providers.connect.facebook import FacebookConnector, live_hosts
from providers.connect.registry import connector_for
from providers.errors import AuthError
from providers.facebook import FacebookProvider
from providers.registry import base_url
from sandbox.tokens import issue_token, verify_token
from tests.support.oauth import consent
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/facebook/callback"
BAKERY = ("100000000000011", "Sandbox Bakery")
BISTRO = ("100000000000012", "Sandbox Bistro")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def _connect(
    http: httpx.AsyncClient, settings: Settings, **choices: str
) -> tuple[Connector, dict[str, str]]:
    connector = connector_for(Platform.FACEBOOK, http, settings, sandbox=True)
    assert type(connector) is FacebookConnector
    url = connector.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    answer = await consent(http, url, **choices)
    assert answer["state"] == "s1"
    return connector, answer


async def test_the_live_dialog_is_facebook_logins_with_page_permissions(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = FacebookConnector(http, live_hosts(settings), OAuthClient("app", "secret"))
    url = httpx.URL(connector.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None))
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
    connector, answer = await _connect(http, settings)
    pages = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert [(page.external_id, page.display_name) for page in pages] == [BAKERY, BISTRO]
    assert all(p.tokens.expires_at is None and p.tokens.refresh_token is None for p in pages)
    # Only Page tokens taken from the long-lived user token never expire (the sandbox's say so).
    claims = [verify_token(sandbox.secret, p.tokens.access_token) for p in pages]
    assert [(c.subject, c.expires_at) for c in claims if c] == [(BAKERY[0], 0), (BISTRO[0], 0)]
    bakery, bistro = pages
    await connector.verify(bakery.external_id, bakery.tokens)
    provider = FacebookProvider(http, base_url(Platform.FACEBOOK, settings, sandbox=True))
    token = bakery.tokens.access_token
    await provider.publish(
        AccountCredentials(bakery.external_id, token), PostContent(text="connected"), Preparation()
    )
    with pytest.raises(AuthError):
        await provider.publish(
            AccountCredentials(bistro.external_id, token),
            PostContent(text="elsewhere"),
            Preparation(),
        )
    posts = (await sandbox_http.get("/_control/posts", params={"platform": "facebook"})).json()
    assert [(p["account"], p["text"]) for p in posts["data"]] == [(bakery.external_id, "connected")]


async def test_the_page_list_is_followed_through_its_paging_links(
    http: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FacebookConnector, "page_size", 1)
    listed: list[httpx.URL] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/me/accounts"):
            listed.append(request.url)

    http.event_hooks["request"].append(record)
    connector, answer = await _connect(http, settings)
    pages = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert [page.external_id for page in pages] == [BAKERY[0], BISTRO[0]]
    assert len(listed) == 2
    # Graph's next link repeats the token in its query: it travels in a header instead.
    assert all("access_token" not in url.params for url in listed)


async def test_another_person_gets_their_own_pages(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, answer = await _connect(http, settings, user="alice")
    [page] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert page.external_id not in (BAKERY[0], BISTRO[0])
    await connector.verify(page.external_id, page.tokens)


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    connector, answer = await _connect(http, settings)
    await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    with pytest.raises(AuthError, match="has been used") as refused:
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert refused.value.code == "100"


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, answer = await _connect(http, settings)
    with pytest.raises(AuthError, match="redirect_uri is identical"):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT + "/x", pkce=None)
    # The failed try spent the code: the right redirect is now too late.
    with pytest.raises(AuthError):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)


async def test_a_refusal_at_the_dialog_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    _, answer = await _connect(http, settings, decision="deny")
    assert answer["error"] == "access_denied" and "code" not in answer


async def test_nothing_refreshes_and_verify_fails_once_the_page_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector, answer = await _connect(http, settings)
    bakery, bistro = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
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
