"""`twitter` is taken for `x` wherever a caller names a platform (issue 21 item 5: seed 002
and the aggregators still say "twitter"), and crier answers "x" there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import TypeAdapter

from core.status import Platform
from tests.support.api import api_client, bearer, callback, start_connect
from tests.support.factories import TenantFixture, make_tenant
from tests.support.harness import Harness
from tests.support.oauth import consent, redirect_target


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(harness.settings, harness.env.client) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db)


def test_twitter_parses_as_x_and_nothing_else_new_does() -> None:
    assert Platform("twitter") is Platform.X
    assert TypeAdapter(list[Platform]).validate_json('["twitter", "x"]') == [Platform.X] * 2
    with pytest.raises(ValueError):
        Platform("Twitter")  # platform names are lower case, this one too
    assert "twitter" not in [p.value for p in Platform]  # never answered


async def test_routing_takes_twitter_and_answers_x(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = bearer(tenant.api_key)
    put = await api.put(
        "/v1/routing", headers=headers, json={"aggregator_platforms": ["twitter", "facebook"]}
    )
    assert put.status_code == 200, put.text
    assert put.json()["data"] == {"aggregator_platforms": ["facebook", "x"]}
    got = await api.get("/v1/routing", headers=headers)
    assert got.json()["data"] == {"aggregator_platforms": ["facebook", "x"]}


async def test_connecting_twitter_connects_an_x_account(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture, harness: Harness
) -> None:
    started = await start_connect(api, tenant.api_key, "twitter")
    assert started["platform"] == "x"
    # The platform is sent back to crier's x callback, the one registered at X.
    assert redirect_target(started["authorization_url"]).endswith("/v1/oauth/x/callback")
    answer = await consent(browser, started["authorization_url"])
    # A callback arriving under the old name is X's too.
    back = await callback(api, "twitter", answer)
    assert back.status_code == 200, back.text
    connection = back.json()["data"]
    assert connection["platform"] == "x" and connection["status"] == "completed"
    [account] = connection["accounts"]
    assert account["platform"] == "x"
    listed = (await api.get("/v1/accounts", headers=bearer(tenant.api_key))).json()["data"]
    assert [a["platform"] for a in listed] == ["x"]


async def test_a_name_that_is_no_platform_is_still_refused(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    headers = bearer(tenant.api_key)
    routing = await api.put("/v1/routing", headers=headers, json={"aggregator_platforms": ["tw"]})
    connect = await api.post("/v1/accounts/tweeter/connect", json={}, headers=headers)
    assert routing.status_code == connect.status_code == 422
