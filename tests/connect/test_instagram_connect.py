"""Instagram's connect flow against the sandbox: Facebook Login, whose candidates are the
Instagram accounts linked to the person's Pages, each with its Page's token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.base import AccountCredentials, PostContent
from providers.connect.base import Connector, OAuthClient, TokenSet
from providers.connect.facebook import FacebookConnector
from providers.connect.instagram import InstagramConnector, live_hosts
from providers.connect.registry import connector_for
from providers.errors import AuthError
from providers.instagram import InstagramProvider
from providers.registry import base_url
from sandbox.tokens import issue_token, verify_token
from tests.support.oauth import consent
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/instagram/callback"
# The sandbox Bakery Page's Instagram account; the Bistro Page has none.
BAKERY_IG = ("17841400000000011", "sandbox_bakery")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def _connect(
    http: httpx.AsyncClient, settings: Settings, **choices: str
) -> tuple[Connector, dict[str, str]]:
    connector = connector_for(Platform.INSTAGRAM, http, settings, sandbox=True)
    assert isinstance(connector, InstagramConnector)
    url = connector.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    answer = await consent(http, url, **choices)
    assert answer["state"] == "s1"
    return connector, answer


async def test_the_live_dialog_is_facebook_logins_with_instagram_permissions(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector = InstagramConnector(http, live_hosts(settings), OAuthClient("app", "secret"))
    url = httpx.URL(connector.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None))
    assert str(url.copy_with(query=None)) == "https://www.facebook.com/v23.0/dialog/oauth"
    assert "instagram_content_publish" in url.params["scope"].split(",")
    assert not (connector.uses_pkce or connector.refreshable or connector.can_revoke)


async def test_connect_grants_the_linked_instagram_account_whose_token_publishes(
    http: httpx.AsyncClient,
    settings: Settings,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    connector, answer = await _connect(http, settings)
    [account] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    assert (account.external_id, account.display_name) == BAKERY_IG
    assert account.tokens.expires_at is None and account.tokens.refresh_token is None
    # Taken from the long-lived user token, the Page's token never expires.
    claims = verify_token(sandbox.secret, account.tokens.access_token)
    assert claims is not None and claims.expires_at == 0
    await connector.verify(account.external_id, account.tokens)
    provider = InstagramProvider(http, base_url(Platform.INSTAGRAM, settings, sandbox=True))
    credentials = AccountCredentials(account.external_id, account.tokens.access_token)
    content = PostContent(text="connected", media_urls=["https://cdn.example.org/1.jpg"])
    prepared = await provider.prepare(credentials, content)
    assert (await provider.check(credentials, prepared)).state == "ready"
    await provider.publish(credentials, content, prepared)
    posts = (await sandbox_http.get("/_control/posts", params={"platform": "instagram"})).json()
    assert [p["account"] for p in posts["data"]] == [account.external_id]


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    connector, answer = await _connect(http, settings)
    await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    with pytest.raises(AuthError, match="has been used"):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, answer = await _connect(http, settings)
    with pytest.raises(AuthError, match="redirect_uri is identical"):
        await connector.exchange(code=answer["code"], redirect_uri=REDIRECT + "/x", pkce=None)


async def test_a_facebook_code_is_not_an_instagram_one(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    facebook = connector_for(Platform.FACEBOOK, http, settings, sandbox=True)
    assert isinstance(facebook, FacebookConnector)
    url = facebook.authorization_url(state="s1", redirect_uri=REDIRECT, pkce=None)
    code = (await consent(http, url))["code"]
    instagram, _ = await _connect(http, settings)
    with pytest.raises(AuthError, match="Invalid verification code"):
        await instagram.exchange(code=code, redirect_uri=REDIRECT, pkce=None)


async def test_a_refusal_at_the_dialog_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    _, answer = await _connect(http, settings, decision="deny")
    assert answer["error"] == "access_denied" and "code" not in answer


async def test_nothing_refreshes_and_verify_fails_once_the_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector, answer = await _connect(http, settings)
    [account] = await connector.exchange(code=answer["code"], redirect_uri=REDIRECT, pkce=None)
    with pytest.raises(AuthError, match="reconnect"):
        await connector.refresh(account.tokens)
    await connector.revoke(account.tokens)  # nothing is revoked: the token still works
    await connector.verify(account.external_id, account.tokens)
    expired = issue_token(
        sandbox.secret, "instagram", account.external_id, expires_at=int(time.time()) - 1
    )
    with pytest.raises(AuthError) as refused:
        await connector.verify(account.external_id, TokenSet(access_token=expired))
    assert refused.value.code == "190/467"
    # A token for another Instagram account does not reach this one.
    with pytest.raises(AuthError):
        await connector.verify("17841400000000099", account.tokens)
