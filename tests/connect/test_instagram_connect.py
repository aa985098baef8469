"""Instagram's connect flow against the sandbox: Facebook Login, whose candidates are the
Instagram accounts linked to the person's Pages, each with its Page's token."""

from __future__ import annotations

import time

import httpx
import pytest

from core.config import Settings
from providers.base import PostContent
from providers.connect.base import TokenSet
from providers.connect.facebook import FacebookConnector
from providers.connect.instagram import InstagramConnector
from providers.errors import AuthError
from providers.instagram import InstagramProvider
from sandbox.tokens import issue_token, verify_token
from tests.connect import flow
from tests.support import connector_checks as checks
from tests.support.servers import RunningSandbox

REDIRECT = "https://app.example/v1/oauth/instagram/callback"
# The sandbox Bakery Page's Instagram account; the Bistro Page has none.
BAKERY_IG = ("17841400000000011", "sandbox_bakery")


def _connector(http: httpx.AsyncClient, settings: Settings) -> InstagramConnector:
    return flow.sandbox_connector(InstagramConnector, http, settings)


async def test_the_live_dialog_is_facebook_logins_with_instagram_permissions(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    connector, url = flow.live_dialog(InstagramConnector, http, settings, REDIRECT)
    assert str(url.copy_with(query=None)) == "https://www.facebook.com/v23.0/dialog/oauth"
    assert "instagram_content_publish" in url.params["scope"].split(",")
    assert not (connector.uses_pkce or connector.refreshable or connector.can_revoke)


async def test_connect_grants_the_linked_instagram_account_whose_token_publishes(
    http: httpx.AsyncClient,
    settings: Settings,
    sandbox: RunningSandbox,
    sandbox_http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
    assert (account.external_id, account.display_name) == BAKERY_IG
    assert account.tokens.expires_at is None and account.tokens.refresh_token is None
    # Taken from the long-lived user token, the Page's token never expires.
    claims = verify_token(sandbox.secret, account.tokens.access_token)
    assert claims is not None and claims.expires_at == 0
    provider = checks.sandbox_provider(InstagramProvider, http, settings)
    content = PostContent(text="connected", media_urls=["https://cdn.example.org/1.jpg"])
    await checks.tokens_publish(sandbox_http, connector, provider, content, account)


async def test_a_code_is_single_use(http: httpx.AsyncClient, settings: Settings) -> None:
    await flow.exchanged_twice(http, _connector(http, settings), REDIRECT, match="has been used")


async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    await checks.bound_to_redirect(
        http,
        _connector(http, settings),
        REDIRECT,
        elsewhere=REDIRECT + "/x",
        match="redirect_uri is identical",
        spends=False,
    )


async def test_a_facebook_code_is_not_an_instagram_one(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    facebook = flow.sandbox_connector(FacebookConnector, http, settings)
    code = (await flow.authorize(http, facebook, REDIRECT))["code"]
    instagram = _connector(http, settings)
    await flow.authorize(http, instagram, REDIRECT)
    await flow.refused_exchange(instagram, code, REDIRECT, match="Invalid verification code")


async def test_a_refusal_at_the_dialog_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    assert await flow.refusal(http, _connector(http, settings), REDIRECT) == "access_denied"


async def test_nothing_refreshes_and_verify_fails_once_the_token_dies(
    http: httpx.AsyncClient, settings: Settings, sandbox: RunningSandbox
) -> None:
    connector = _connector(http, settings)
    [account] = await flow.connect(http, connector, REDIRECT)
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
