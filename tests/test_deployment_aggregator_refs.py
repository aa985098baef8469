"""The deployment's aggregator keys post only to the aggregator accounts the operator assigned
(security review S2): a tenant naming another tenant's account id gets nowhere with them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app as crier
from core.config import get_settings
from core.status import Platform
from sandbox.tokens import issue_token
from tests.support.factories import make_account, make_tenant
from tests.support.harness import Harness

WORKSPACE = "crier-deployment"  # the operator's own PostForMe workspace


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    # The deployment has a PostForMe key of its own, for tenants without one.
    secret = harness.settings.sandbox_secret.get_secret_value()
    harness.settings.postforme_api_key = SecretStr(issue_token(secret, "postforme", WORKSPACE))
    application = create_app(harness.settings, temporal=harness.env.client)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as client,
    ):
        yield client


@pytest.fixture
def operator(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The operator's shell, on the same database as the API and the worker."""
    monkeypatch.setenv("CRIER_ENV", "test")
    monkeypatch.setenv("CRIER_DATA_DIR", str(harness.settings.data_dir))
    monkeypatch.setenv("CRIER_DATABASE_URL", harness.settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def workspace_account(harness: Harness, username: str) -> str:
    answer = await harness.sandbox.post(
        "/_control/aggregators/postforme/accounts",
        json={"customer": WORKSPACE, "platform": "x", "username": username},
    )
    answer.raise_for_status()
    ref: str = answer.json()["data"]["id"]
    return ref


async def publish(api: httpx.AsyncClient, harness: Harness, key: str, account_id: str) -> str:
    headers = {"Authorization": f"Bearer {key}"}
    created = await api.post(
        "/v1/posts", headers=headers, json={"body": "hi", "targets": [{"account_id": account_id}]}
    )
    assert created.status_code == 201, created.text
    started = await api.post(
        f"/v1/posts/{created.json()['data']['id']}/publish", headers=headers, json={}
    )
    [target] = started.json()["data"]["targets"]
    final = await harness.result(target["workflow_id"])
    return f"{final.status}: {final.error}"


async def test_a_tenant_cannot_send_through_the_deployments_key_to_an_account_it_names(
    harness: Harness, api: httpx.AsyncClient, operator: CliRunner
) -> None:
    victims_ref = await workspace_account(harness, "victim_brand")
    own_ref = await workspace_account(harness, "attacker_brand")
    attacker = await make_tenant(harness.db)
    account = await make_account(
        harness.db, harness.settings, attacker, Platform.X, "1500000000077"
    )
    headers = {"Authorization": f"Bearer {attacker.api_key}"}
    # No key of its own: it routes X through the aggregators and names the victim's account.
    assert (
        await api.put("/v1/routing", headers=headers, json={"aggregator_platforms": ["x"]})
    ).status_code == 200
    named = await api.put(
        f"/v1/accounts/{account.id}/aggregator-refs",
        headers=headers,
        json={"aggregator_refs": {"postforme": victims_ref}},
    )
    assert named.status_code == 200

    outcome = await publish(api, harness, attacker.api_key, account.id)

    assert outcome.startswith("failed") or outcome.startswith("dead"), outcome
    assert await harness.posts(Platform.X) == []  # nothing reached the victim's account

    # The operator assigns the tenant's own account in the workspace: now it goes out there.
    assigned = operator.invoke(
        crier, ["aggregator-refs", "assign", account.id, "postforme", own_ref]
    )
    assert assigned.exit_code == 0, assigned.output
    listed = operator.invoke(crier, ["aggregator-refs", "list", "--tenant", attacker.tenant_id])
    assert own_ref in listed.output

    assert (await publish(api, harness, attacker.api_key, account.id)).startswith("published")
    [sent] = await harness.posts(Platform.X)
    assert sent["account"] == own_ref
    shown = await api.get("/v1/posts", headers=headers)
    delivered = {t["delivered_by"] for p in shown.json()["data"] for t in p["targets"]}
    assert "deployment:postforme" in delivered

    removed = operator.invoke(crier, ["aggregator-refs", "remove", account.id, "postforme"])
    assert removed.exit_code == 0, removed.output
    unknown = operator.invoke(crier, ["aggregator-refs", "assign", account.id, "buffer", "x"])
    assert unknown.exit_code == 1
