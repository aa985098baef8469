"""Who may call what: every route's scope, and every query scoped to the caller's tenant and
mode (a sandbox key never sees live data, nor a live key sandbox data).

Both walks are driven by one table of every route; a route added without an entry here fails
the first test, so no route can escape the checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.config import Settings
from core.db import Database
from core.models import AggregatorKey, Notification, Project, Tenant
from core.security import SCOPES
from core.status import Platform
from tests.support.api import api_client, bearer, start_connect
from tests.support.factories import TenantFixture, add_key, make_account, make_tenant

VIEW, MANAGE, PUBLISH, APPROVE = SCOPES
LATER = (datetime.now(UTC) + timedelta(days=3)).isoformat()

# (method, path) → (scope, body). None: no API key (the OAuth callback: its state is the key).
ROUTES: dict[tuple[str, str], tuple[str | None, dict[str, Any] | None]] = {
    ("GET", "/v1/accounts"): (VIEW, None),
    ("DELETE", "/v1/accounts/{account_id}"): (MANAGE, None),
    ("POST", "/v1/accounts/{account_id}/verify"): (MANAGE, None),
    ("GET", "/v1/accounts/{account_id}/pages"): (MANAGE, None),
    ("GET", "/v1/accounts/{account_id}/insights"): (VIEW, None),
    ("GET", "/v1/posts/{post_id}/metrics"): (VIEW, None),
    ("GET", "/v1/reports/publishing"): (VIEW, None),
    ("POST", "/v1/accounts/{platform}/connect"): (MANAGE, {}),
    ("GET", "/v1/oauth/{platform}/callback"): (None, None),
    ("GET", "/v1/oauth/return-origins"): (VIEW, None),
    ("POST", "/v1/oauth/return-origins"): (MANAGE, {"origin": "https://app.example"}),
    ("DELETE", "/v1/oauth/return-origins/{origin_id}"): (MANAGE, None),
    ("GET", "/v1/connections/{connection_id}"): (VIEW, None),
    ("POST", "/v1/connections/{connection_id}/accounts"): (MANAGE, {"external_ids": ["1"]}),
    ("POST", "/v1/posts"): (MANAGE, {"body": "hi", "targets": []}),
    ("POST", "/v1/posts/validate"): (MANAGE, {"body": "hi", "targets": []}),
    ("GET", "/v1/platforms"): (VIEW, None),
    ("GET", "/v1/projects"): (VIEW, None),
    ("POST", "/v1/projects"): (MANAGE, {"name": "Walk"}),
    ("GET", "/v1/projects/{project_id}"): (VIEW, None),
    ("PATCH", "/v1/projects/{project_id}"): (MANAGE, {"name": "Renamed"}),
    ("DELETE", "/v1/projects/{project_id}"): (MANAGE, None),
    ("GET", "/v1/posts"): (VIEW, None),
    ("GET", "/v1/posts/{post_id}"): (VIEW, None),
    ("PATCH", "/v1/posts/{post_id}"): (MANAGE, {"expected_updated_at": LATER, "body": "x"}),
    ("DELETE", "/v1/posts/{post_id}"): (MANAGE, None),
    ("GET", "/v1/posts/{post_id}/targets"): (VIEW, None),
    ("POST", "/v1/posts/{post_id}/publish"): (PUBLISH, {}),
    ("POST", "/v1/posts/{post_id}/reschedule"): (PUBLISH, {"scheduled_for": LATER}),
    ("POST", "/v1/posts/{post_id}/cancel"): (PUBLISH, None),
    ("POST", "/v1/posts/{post_id}/approve"): (APPROVE, {"expected_updated_at": LATER}),
    ("POST", "/v1/posts/{post_id}/reject"): (
        APPROVE,
        {"expected_updated_at": LATER, "comment": "no"},
    ),
    ("GET", "/v1/targets/{target_id}/attempts"): (VIEW, None),
    ("POST", "/v1/targets/{target_id}/retry"): (PUBLISH, None),
    ("GET", "/v1/aggregators"): (VIEW, None),
    ("PUT", "/v1/aggregators/{name}"): (MANAGE, {"api_key": "sk_aggregator_key"}),
    ("DELETE", "/v1/aggregators/{name}"): (MANAGE, None),
    ("GET", "/v1/routing"): (VIEW, None),
    ("PUT", "/v1/routing"): (MANAGE, {"aggregator_platforms": []}),
    ("PUT", "/v1/accounts/{account_id}/aggregator-refs"): (
        MANAGE,
        {"aggregator_refs": {"late": "acc_1"}},
    ),
    ("POST", "/v1/webhooks"): (MANAGE, {"url": "https://hooks.example.com/a"}),
    ("GET", "/v1/webhooks"): (VIEW, None),
    ("GET", "/v1/webhooks/{webhook_id}"): (VIEW, None),
    ("DELETE", "/v1/webhooks/{webhook_id}"): (MANAGE, None),
    ("POST", "/v1/webhooks/{webhook_id}/enable"): (MANAGE, None),
    ("POST", "/v1/webhooks/{webhook_id}/roll-secret"): (MANAGE, {}),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (VIEW, None),
    ("GET", "/v1/events"): (VIEW, None),
    ("POST", "/v1/events/tickets"): (VIEW, {}),
    ("POST", "/v1/review-links"): (APPROVE, {"reviewer": "Ana", "scope": "queue"}),
    ("GET", "/v1/review-links"): (VIEW, None),
    ("DELETE", "/v1/review-links/{link_id}"): (APPROVE, None),
    ("POST", "/v1/posts/{post_id}/unschedule"): (PUBLISH, None),
    ("GET", "/v1/notifications"): (VIEW, None),
    ("POST", "/v1/notifications/read"): (MANAGE, {"all": True}),
    ("POST", "/v1/notifications/{notification_id}/read"): (MANAGE, None),
    ("GET", "/v1/retry-policy"): (VIEW, None),
    ("PUT", "/v1/retry-policy"): (MANAGE, {"preset": "crier"}),
    # Seed 000's contract (api/contracts/leadmetrics.py).
    ("POST", "/tenant/v1/social/{post_id}/publish"): (PUBLISH, None),
    ("POST", "/tenant/v1/social/{post_id}/schedule"): (PUBLISH, {"scheduledAt": LATER}),
    ("POST", "/tenant/v1/social/{post_id}/cancel-schedule"): (PUBLISH, None),
    ("GET", "/tenant/v1/social/{post_id}/publish-status"): (VIEW, None),
    # Seed 004's contract (api/contracts/softsolz.py).
    ("GET", "/api/v1/services/social/accounts"): (VIEW, None),
    ("POST", "/api/v1/services/social/posts"): (MANAGE, {"body": "hi", "targets": []}),
    ("GET", "/api/v1/services/social/posts"): (VIEW, None),
    ("GET", "/api/v1/services/social/posts/{post_id}"): (VIEW, None),
    ("PATCH", "/api/v1/services/social/posts/{post_id}"): (MANAGE, {"body": "x"}),
    ("DELETE", "/api/v1/services/social/posts/{post_id}"): (MANAGE, None),
    ("GET", "/api/v1/services/social/posts/{post_id}/targets"): (VIEW, None),
    ("POST", "/api/v1/services/social/posts/{post_id}/publish"): (PUBLISH, {}),
}
SEED_004 = "/api/v1/services/social"
UNSCOPED = {("GET", "/healthz"), ("GET", "/readyz")}
# Operators' admin API: its own token (CRIER_ADMIN_TOKEN), never a tenant's key; off (404)
# unless configured. tests/test_plans.py checks that tokens and keys are refused.
OPERATOR = {
    ("GET", "/admin/v1/plans"),
    ("POST", "/admin/v1/plans"),
    ("GET", "/admin/v1/plans/{plan_id}"),
    ("PATCH", "/admin/v1/plans/{plan_id}"),
    ("DELETE", "/admin/v1/plans/{plan_id}"),
    ("GET", "/admin/v1/tenants/{tenant_id}"),
    ("PATCH", "/admin/v1/tenants/{tenant_id}"),
}
ROW_IDS = (
    "account_id",
    "post_id",
    "target_id",
    "connection_id",
    "webhook_id",
    "link_id",
    "origin_id",
    "notification_id",
    "project_id",
)
# Answers that never end: the scope walk reads only their status line.
STREAMS = {("GET", "/v1/events")}


@pytest.fixture
async def api(
    settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, time_skipping_env.client) as client:
        yield client


def concrete(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids)


@pytest.fixture
async def owned(api: httpx.AsyncClient, db: Database, settings: Settings) -> dict[str, str]:
    """Tenant A's sandbox resources, one of each kind a path can name."""
    owner = await make_tenant(db)
    account = await make_account(db, settings, owner, Platform.X, "1600000000000000001")
    post = await api.post(
        "/v1/posts",
        json={"body": "A's post", "targets": [{"account_id": account.id}]},
        headers=bearer(owner.api_key),
    )
    assert post.status_code == 201, post.text
    data = post.json()["data"]
    connection = await start_connect(api, owner.api_key, "x")
    webhook = await api.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/a"}, headers=bearer(owner.api_key)
    )
    assert webhook.status_code == 201, webhook.text
    link = await api.post(
        "/v1/review-links",
        json={"reviewer": "Ana", "post_id": data["id"]},
        headers=bearer(owner.api_key),
    )
    assert link.status_code == 201, link.text
    origin = await api.post(
        "/v1/oauth/return-origins",
        json={"origin": "https://app.example"},
        headers=bearer(owner.api_key),
    )
    assert origin.status_code == 201, origin.text
    notice = Notification(
        tenant_id=owner.tenant_id, is_test=True, kind="target_dead", message="A's notice"
    )
    async with db.session() as session:
        session.add(notice)
        await session.commit()
    return {
        "notification_id": notice.id,
        "webhook_id": webhook.json()["data"]["id"],
        "link_id": link.json()["data"]["id"],
        "origin_id": origin.json()["data"]["id"],
        "account_id": account.id,
        "project_id": account.project_id,
        "post_id": data["id"],
        "target_id": data["targets"][0]["id"],
        "connection_id": connection["id"],
        "platform": "x",
        "name": "late",
        "owner_key": owner.api_key,
        "tenant_id": owner.tenant_id,
    }


def test_every_route_is_in_the_table() -> None:
    app = create_app()
    served = {
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    }
    assert served - UNSCOPED - OPERATOR == set(ROUTES)


@pytest.mark.parametrize("live", [False, True], ids=["sandbox keys", "live keys"])
async def test_every_route_needs_its_scope(
    api: httpx.AsyncClient, db: Database, owned: dict[str, str], live: bool
) -> None:
    for (method, path), (scope, body) in ROUTES.items():
        if scope is None:
            continue
        url = concrete(path, owned)
        without = await make_tenant(
            db, scopes=tuple(s for s in SCOPES if s != scope), test=not live
        )
        refused = await api.request(method, url, json=body, headers=bearer(without.api_key))
        assert refused.status_code == 403, (method, path, refused.text)
        assert scope in refused.json()["error"]["message"], (method, path)
        nothing = await api.request(method, url, json=body)
        assert nothing.status_code == 401, (method, path)
        only = await make_tenant(db, scopes=(scope,), test=not live)
        if (method, path) in STREAMS:
            continue  # over ASGI a stream never returns; test_events_stream reads it over HTTP
        allowed = await api.request(method, url, json=body, headers=bearer(only.api_key))
        assert allowed.status_code not in (401, 403), (method, path, allowed.text)


ROW_ROUTES = [
    (method, path, scope, body)
    for (method, path), (scope, body) in ROUTES.items()
    if scope is not None and any(f"{{{key}}}" in path for key in ROW_IDS)
]


async def _walk_rows(api: httpx.AsyncClient, owned: dict[str, str], key: str) -> None:
    """Every route that names a row, called with `key` on the owner's rows: each is 404."""
    for method, path, _, body in ROW_ROUTES:
        answer = await api.request(method, concrete(path, owned), json=body, headers=bearer(key))
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)


async def test_another_tenants_ids_are_not_found_on_every_route(
    api: httpx.AsyncClient, db: Database, owned: dict[str, str]
) -> None:
    stranger = await make_tenant(db)
    assert len(ROW_ROUTES) >= 20  # the walk cannot pass by walking nothing
    await _walk_rows(api, owned, stranger.api_key)

    # Lists show the caller's own rows only.
    for listing in (
        "/v1/accounts",
        "/v1/posts",
        "/v1/webhooks",
        "/v1/notifications",
        f"{SEED_004}/posts",
    ):
        rows = (await api.get(listing, headers=bearer(stranger.api_key))).json()["data"]
        assert rows == [], listing
    seed_accounts = await api.get(f"{SEED_004}/accounts", headers=bearer(stranger.api_key))
    assert seed_accounts.json()["data"]["accounts"] == []
    # And nothing was changed by the walk: the owner's post and account are as they were.
    post = await api.get(f"/v1/posts/{owned['post_id']}", headers=bearer(owned["owner_key"]))
    assert post.status_code == 200 and post.json()["data"]["body"] == "A's post"
    accounts = (await api.get("/v1/accounts", headers=bearer(owned["owner_key"]))).json()["data"]
    assert [a["status"] for a in accounts] == ["active"]


async def test_a_live_key_never_reaches_sandbox_data_and_the_reverse(
    api: httpx.AsyncClient, db: Database, settings: Settings, owned: dict[str, str]
) -> None:
    # The same tenant's live key: the sandbox account, post and connection are not its own.
    sandbox_tenant = await make_tenant(db)
    live_key = (await add_key(db, sandbox_tenant, test=False)).api_key
    sandbox_account = await make_account(db, settings, sandbox_tenant, Platform.X, "1")
    live_account = await make_account(db, settings, sandbox_tenant, Platform.X, "2", sandbox=False)
    listed = (await api.get("/v1/accounts", headers=bearer(live_key))).json()["data"]
    assert [a["id"] for a in listed] == [live_account.id]
    listed = (await api.get("/v1/accounts", headers=bearer(sandbox_tenant.api_key))).json()["data"]
    assert [a["id"] for a in listed] == [sandbox_account.id]

    # A sandbox key cannot post to a live account, nor a live key to a sandbox one.
    for key, account in ((sandbox_tenant.api_key, live_account), (live_key, sandbox_account)):
        refused = await api.post(
            "/v1/posts",
            json={"body": "crossing", "targets": [{"account_id": account.id}]},
            headers=bearer(key),
        )
        assert refused.status_code == 422, refused.text
    gone = await api.delete(f"/v1/accounts/{sandbox_account.id}", headers=bearer(live_key))
    assert gone.status_code == 404


async def test_the_other_modes_key_of_the_same_tenant_finds_no_row_on_every_route(
    api: httpx.AsyncClient, db: Database, owned: dict[str, str]
) -> None:
    # The owner's rows are sandbox rows; its own live key must not reach any of them.
    live = (await add_key(db, TenantFixture(owned["tenant_id"], "", ""), test=False)).api_key
    await _walk_rows(api, owned, live)
    # And nothing was changed by the walk.
    post = await api.get(f"/v1/posts/{owned['post_id']}", headers=bearer(owned["owner_key"]))
    assert post.status_code == 200 and post.json()["data"]["body"] == "A's post"
    assert post.json()["data"]["status"] == "draft"


async def test_the_reverse_a_sandbox_key_finds_no_live_row_on_every_route(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await make_tenant(db, test=False)
    account = await make_account(db, settings, owner, Platform.X, "42", sandbox=False)
    post = await api.post(
        "/v1/posts",
        json={"body": "live post", "targets": [{"account_id": account.id}]},
        headers=bearer(owner.api_key),
    )
    assert post.status_code == 201, post.text
    data = post.json()["data"]
    sandbox_key = (await add_key(db, owner, test=True)).api_key
    ids = {"post_id": data["id"], "target_id": data["targets"][0]["id"], "account_id": account.id}
    walked = 0
    for method, path, _, body in ROW_ROUTES:
        if not all(f"{{{key}}}" not in path or key in ids for key in ROW_IDS):
            continue  # rows this test has no live one of (they are walked above)
        url = path.format(**ids, platform="x", name="late")
        answer = await api.request(method, url, json=body, headers=bearer(sandbox_key))
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        walked += 1
    assert walked >= 13  # every post, target and account route


async def test_tenant_wide_settings_are_per_mode(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    """Aggregator keys and routing set with a sandbox key never touch the live ones."""
    tenant = await make_tenant(db)  # a sandbox key
    live = (await add_key(db, tenant, test=False)).api_key
    sandbox = bearer(tenant.api_key)
    routed = await api.put("/v1/routing", json={"aggregator_platforms": ["x"]}, headers=sandbox)
    assert routed.status_code == 200, routed.text
    key = await api.put(
        "/v1/aggregators/late", json={"api_key": "sk_sandbox_late"}, headers=sandbox
    )
    assert key.status_code == 200, key.text

    live_routing = await api.get("/v1/routing", headers=bearer(live))
    assert live_routing.json()["data"] == {"aggregator_platforms": []}
    assert (await api.get("/v1/routing", headers=sandbox)).json()["data"] == {
        "aggregator_platforms": ["x"]
    }
    assert (await api.get("/v1/aggregators", headers=bearer(live))).json()["data"] == []
    gone = await api.delete("/v1/aggregators/late", headers=bearer(live))
    assert gone.status_code == 404
    # The live key sets its own, and the sandbox's stay as they were.
    await api.put(
        "/v1/aggregators/late", json={"api_key": "sk_live_late_key"}, headers=bearer(live)
    )
    assert [
        k["aggregator"] for k in (await api.get("/v1/aggregators", headers=sandbox)).json()["data"]
    ] == ["late"]
    async with db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)
        assert row is not None
        assert (row.aggregator_platforms, row.sandbox_aggregator_platforms) == ([], ["x"])
        keys = (await session.exec(select(AggregatorKey))).all()
        assert sorted(k.is_test for k in keys if k.tenant_id == tenant.tenant_id) == [False, True]
    # A sandbox key cannot name aggregator refs on a live account.
    live_account = await make_account(db, settings, tenant, Platform.X, "7", sandbox=False)
    refs = await api.put(
        f"/v1/accounts/{live_account.id}/aggregator-refs",
        json={"aggregator_refs": {"late": "acc_1"}},
        headers=sandbox,
    )
    assert refs.status_code == 404

    # The retry policy too: the sandbox's choice is not the live one's.
    chosen = await api.put("/v1/retry-policy", json={"preset": "manual"}, headers=sandbox)
    assert chosen.status_code == 200, chosen.text
    live_policy = (await api.get("/v1/retry-policy", headers=bearer(live))).json()["data"]
    assert live_policy["choice"] is None
    async with db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)
        assert row is not None
        assert (row.retry_policy, row.sandbox_retry_policy) == (None, {"preset": "manual"})


async def test_a_key_limited_to_another_project_finds_no_row_on_every_route(
    api: httpx.AsyncClient, db: Database, owned: dict[str, str]
) -> None:
    """The owner's rows are in its default project; a key of the same tenant and mode limited
    to another project reaches none of them, and may not change tenant-wide settings."""
    other = Project(tenant_id=owned["tenant_id"], is_test=True, name="Another client")
    async with db.session() as session:
        session.add(other)
        await session.commit()
    owner = TenantFixture(owned["tenant_id"], "", "")
    limited = (await add_key(db, owner, project_ids=(other.id,))).api_key
    walked = 0
    for method, path, _, body in ROW_ROUTES:
        answer = await api.request(
            method, concrete(path, owned), json=body, headers=bearer(limited)
        )
        # Return origins are the tenant's, not a project's: changing one is refused outright.
        expected = 403 if "{origin_id}" in path else 404
        assert answer.status_code == expected, (method, path, answer.status_code, answer.text)
        walked += 1
    assert walked == len(ROW_ROUTES) >= 20
    for listing in ("/v1/accounts", "/v1/posts", "/v1/webhooks", "/v1/notifications"):
        rows = (await api.get(listing, headers=bearer(limited))).json()["data"]
        assert rows == [], listing
    projects = (await api.get("/v1/projects", headers=bearer(limited))).json()["data"]
    assert [p["id"] for p in projects] == [other.id]
    for method, path, body in (
        ("PUT", "/v1/routing", {"aggregator_platforms": ["x"]}),
        ("PUT", "/v1/aggregators/late", {"api_key": "sk_aggregator_key"}),
        ("POST", "/v1/oauth/return-origins", {"origin": "https://other.example"}),
        ("PUT", "/v1/retry-policy", {"preset": "crier"}),
        ("POST", "/v1/projects", {"name": "Mine"}),
    ):
        refused = await api.request(method, path, json=body, headers=bearer(limited))
        assert refused.status_code == 403, (method, path, refused.text)
        assert "limited to projects" in refused.json()["error"]["message"]
    # The walk changed nothing.
    post = await api.get(f"/v1/posts/{owned['post_id']}", headers=bearer(owned["owner_key"]))
    assert post.status_code == 200 and post.json()["data"]["status"] == "draft"
