"""The authorization code of Meta's three logins (Facebook, Instagram through Facebook Login,
and Threads), which the sandbox, like Graph, treats alike: used once, bound to the redirect
URI it was issued for, and refused at the dialog as access_denied. Each platform's own file
tests what differs (scopes, the accounts granted, tokens)."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from providers.connect.facebook import FacebookConnector
from providers.connect.instagram import InstagramConnector
from providers.connect.threads import ThreadsConnector
from tests.connect import flow
from tests.support import connector_checks as checks

MetaConnector = FacebookConnector | ThreadsConnector  # Instagram's is a Facebook one
META = pytest.mark.parametrize(
    "kind",
    [FacebookConnector, InstagramConnector, ThreadsConnector],
    ids=["facebook", "instagram", "threads"],
)
# Whether a code tried at the wrong redirect URI is spent by the try: Instagram's is not.
SPENT_BY_A_WRONG_TRY: dict[type[MetaConnector], bool] = {
    FacebookConnector: True,
    InstagramConnector: False,
    ThreadsConnector: True,
}


def _redirect(kind: type[MetaConnector]) -> str:
    return f"https://app.example/v1/oauth/{kind.platform.value}/callback"


@META
async def test_a_code_is_single_use(
    http: httpx.AsyncClient, settings: Settings, kind: type[MetaConnector]
) -> None:
    connector = flow.sandbox_connector(kind, http, settings)
    refused = await flow.exchanged_twice(http, connector, _redirect(kind), match="has been used")
    assert refused.code == "100"


@META
async def test_a_code_is_bound_to_its_redirect_uri(
    http: httpx.AsyncClient, settings: Settings, kind: type[MetaConnector]
) -> None:
    await checks.bound_to_redirect(
        http,
        flow.sandbox_connector(kind, http, settings),
        _redirect(kind),
        elsewhere=_redirect(kind) + "/x",
        match="redirect_uri is identical",
        spends=SPENT_BY_A_WRONG_TRY[kind],
    )


@META
async def test_a_refusal_at_the_dialog_comes_back_as_access_denied(
    http: httpx.AsyncClient, settings: Settings, kind: type[MetaConnector]
) -> None:
    connector = flow.sandbox_connector(kind, http, settings)
    assert await flow.refusal(http, connector, _redirect(kind)) == "access_denied"
