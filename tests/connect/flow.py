"""Driving a connector against the sandbox as the API would: the registry's connector for a
platform, the person's consent, the code exchanged, and what the sandbox saw published."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import pytest

from core.config import Settings
from core.status import Platform
from providers.connect.base import (
    Candidate,
    Connector,
    ConnectorBase,
    OAuthClient,
    PasswordConnector,
    Pkce,
    TokenSet,
)
from providers.connect.registry import CONNECTORS, connector_for
from providers.errors import AuthError
from tests.support.oauth import consent

Kind = TypeVar("Kind", bound=ConnectorBase)
OAuthKind = TypeVar("OAuthKind", bound=Connector)
STATE = "s1"


def sandbox_connector(kind: type[Kind], http: httpx.AsyncClient, settings: Settings) -> Kind:
    """The registry's connector for `kind`'s platform on the sandbox, which must be `kind`
    itself (Instagram's connector is a Facebook one too, so not merely an instance)."""
    connector = connector_for(kind.platform, http, settings, sandbox=True)
    assert isinstance(connector, kind) and type(connector) is kind
    return connector


def live_dialog(
    kind: type[OAuthKind], http: httpx.AsyncClient, settings: Settings, redirect_uri: str
) -> tuple[OAuthKind, httpx.URL]:
    """`kind` on its platform's live hosts with a made-up app ("app", "secret"), and the
    consent page it would send a person to."""
    _, live_hosts = CONNECTORS[kind.platform]
    connector = kind(http, live_hosts(settings), OAuthClient("app", "secret"))
    url = connector.authorization_url(state=STATE, redirect_uri=redirect_uri, pkce=None)
    return connector, httpx.URL(url)


async def authorize(
    http: httpx.AsyncClient,
    connector: Connector,
    redirect_uri: str,
    *,
    pkce: Pkce | None = None,
    **choices: str,
) -> dict[str, str]:
    """The person at the consent screen (the sandbox's `choices`: user=..., decision="deny");
    returns what the app's callback receives, whose state must be the one sent."""
    url = connector.authorization_url(state=STATE, redirect_uri=redirect_uri, pkce=pkce)
    answer = await consent(http, url, **choices)
    assert answer["state"] == STATE
    return answer


async def connect(
    http: httpx.AsyncClient,
    connector: Connector,
    redirect_uri: str,
    *,
    pkce: Pkce | None = None,
    **choices: str,
) -> list[Candidate]:
    """Consent, then the code exchanged: the accounts the login grants."""
    answer = await authorize(http, connector, redirect_uri, pkce=pkce, **choices)
    return await connector.exchange(code=answer["code"], redirect_uri=redirect_uri, pkce=pkce)


async def refused_exchange(
    connector: Connector,
    code: str,
    redirect_uri: str,
    *,
    pkce: Pkce | None = None,
    match: str | None = None,
) -> AuthError:
    """The AuthError an exchange of `code` is refused with (its message matching `match`)."""
    with pytest.raises(AuthError, match=match) as refused:
        await connector.exchange(code=code, redirect_uri=redirect_uri, pkce=pkce)
    return refused.value


async def exchanged_twice(
    http: httpx.AsyncClient,
    connector: Connector,
    redirect_uri: str,
    *,
    pkce: Pkce | None = None,
    match: str | None = None,
) -> AuthError:
    """A code exchanged once, then again: the AuthError the second exchange is refused with."""
    answer = await authorize(http, connector, redirect_uri, pkce=pkce)
    await connector.exchange(code=answer["code"], redirect_uri=redirect_uri, pkce=pkce)
    return await refused_exchange(connector, answer["code"], redirect_uri, pkce=pkce, match=match)


async def refusal(
    http: httpx.AsyncClient, connector: Connector, redirect_uri: str, *, pkce: Pkce | None = None
) -> str:
    """The person refuses at the consent screen: the callback gets an error and no code;
    returns the error."""
    answer = await authorize(http, connector, redirect_uri, pkce=pkce, decision="deny")
    assert "code" not in answer
    return answer["error"]


async def refreshed(
    connector: Connector | PasswordConnector,
    external_id: str,
    tokens: TokenSet,
    *,
    rotates: bool,
) -> TokenSet:
    """A refresh of `tokens`: a new access token that verifies for `external_id`, with a new
    refresh token where refresh tokens rotate (`rotates`) and the same one where they do not."""
    fresh = await connector.refresh(tokens)
    if rotates:
        assert fresh.refresh_token not in (None, tokens.refresh_token)
    else:
        assert fresh.refresh_token == tokens.refresh_token
    assert fresh.access_token != tokens.access_token
    await connector.verify(external_id, fresh)
    return fresh


async def sandbox_posts(sandbox_http: httpx.AsyncClient, platform: Platform) -> list[Any]:
    """What the sandbox recorded as published on `platform` since the test began."""
    answer = await sandbox_http.get("/_control/posts", params={"platform": platform.value})
    posts: list[Any] = answer.json()["data"]
    return posts
