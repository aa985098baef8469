"""A tenant routes a platform through the aggregators: the seed's failover order decides who
delivers, and the target records it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from core.status import Platform
from sandbox.tokens import issue_token
from tests.support.factories import make_account, make_tenant
from tests.support.harness import Harness

CUSTOMER = "cust_42"


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


async def aggregator_account(harness: Harness, name: str) -> str:
    # LATE still names X "twitter" (seed 002); PostForMe takes either.
    platform = "twitter" if name == "late" else "x"
    answer = await harness.sandbox.post(
        f"/_control/aggregators/{name}/accounts",
        json={"customer": CUSTOMER, "platform": platform, "username": "crier_demo"},
    )
    answer.raise_for_status()
    account_id: str = answer.json()["data"]["id"]
    return account_id


async def test_a_routed_platform_fails_over_to_the_tenants_late_key(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, Platform.X, "1500000000042")
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    secret = harness.settings.sandbox_secret.get_secret_value()
    refs = {name: await aggregator_account(harness, name) for name in ("postforme", "late")}

    # The tenant's PostForMe key is refused; its LATE key works.
    forged = await api.put(
        "/v1/aggregators/postforme", headers=headers, json={"api_key": "sbx_forged.signature"}
    )
    late_key = issue_token(secret, "late", CUSTOMER)
    good = await api.put("/v1/aggregators/late", headers=headers, json={"api_key": late_key})
    assert forged.status_code == good.status_code == 200
    listed = await api.get("/v1/aggregators", headers=headers)
    assert sorted(k["aggregator"] for k in listed.json()["data"]) == ["late", "postforme"]
    assert late_key not in listed.text  # a key is shown to nobody once stored
    routing = await api.put("/v1/routing", headers=headers, json={"aggregator_platforms": ["x"]})
    assert routing.json()["data"] == {"aggregator_platforms": ["x"]}
    linked = await api.put(
        f"/v1/accounts/{account.id}/aggregator-refs",
        headers=headers,
        json={"aggregator_refs": refs},
    )
    assert linked.status_code == 200

    created = await api.post(
        "/v1/posts",
        headers=headers,
        json={"body": "Through an aggregator", "targets": [{"account_id": account.id}]},
    )
    post_id = created.json()["data"]["id"]
    started = await api.post(f"/v1/posts/{post_id}/publish", headers=headers, json={})
    [target] = started.json()["data"]["targets"]
    final = await harness.result(target["workflow_id"])

    assert final.status == "published", final.error
    shown = (await api.get(f"/v1/posts/{post_id}/targets", headers=headers)).json()["data"][0]
    assert shown["delivered_by"] == "tenant:late"
    # Stored under LATE's own name for the platform.
    received = await harness.sandbox.get("/_control/posts", params={"platform": "twitter"})
    [sent] = received.json()["data"]
    assert sent["id"].startswith("late_")
    assert sent["id"] == shown["external_id"]
    [attempt] = (await api.get(f"/v1/targets/{target['id']}/attempts", headers=headers)).json()[
        "data"
    ]
    assert attempt["outcome"] == "confirmed"


async def test_a_platform_not_routed_is_published_directly(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, Platform.X, "1500000000043")
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    created = await api.post(
        "/v1/posts",
        headers=headers,
        json={"body": "Straight to X", "targets": [{"account_id": account.id}]},
    )
    started = await api.post(
        f"/v1/posts/{created.json()['data']['id']}/publish", headers=headers, json={}
    )
    [target] = started.json()["data"]["targets"]
    assert (await harness.result(target["workflow_id"])).status == "published"
    [sent] = await harness.posts(Platform.X)
    assert not sent["id"].startswith(("late_", "pfm_"))
    shown = await api.get(f"/v1/posts/{created.json()['data']['id']}/targets", headers=headers)
    assert shown.json()["data"][0]["delivered_by"] == "direct"
