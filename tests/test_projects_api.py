"""Projects through the API: made, listed, renamed and deleted; the same brand connected in two
projects is two accounts; a post keeps to one project; a key limited to a project sees only
it; lists filter by project; and a webhook endpoint of a project hears only its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import select, update
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.models import Event, Target, WebhookDelivery
from core.status import Platform, TargetStatus
from tests.support.api import api_client, bearer, callback, start_connect
from tests.support.factories import (
    TenantFixture,
    add_key,
    make_account,
    make_post,
    make_tenant,
)
from tests.support.oauth import consent
from tests.support.servers import WebhookReceiver, serving
from tests.test_webhooks import eventually, open_stack


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, None) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


async def new_project(api: httpx.AsyncClient, tenant: TenantFixture, name: str) -> dict[str, Any]:
    made = await api.post("/v1/projects", json={"name": name}, headers=bearer(tenant.api_key))
    assert made.status_code == 201, made.text
    project: dict[str, Any] = made.json()["data"]
    return project


async def ids_at(api: httpx.AsyncClient, key: str, path: str, **params: str) -> list[str]:
    answer = await api.get(path, params=params, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()["data"]]


async def test_projects_are_made_listed_renamed_and_deleted(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    key = bearer(tenant.api_key)
    [default] = (await api.get("/v1/projects", headers=key)).json()["data"]
    assert default["name"] == "Default" and default["is_default"] and default["is_test"]

    acme = await new_project(api, tenant, "  Acme ")
    assert acme["name"] == "Acme" and not acme["is_default"]
    assert (acme["accounts"], acme["posts"]) == (0, 0)
    again = await api.post("/v1/projects", json={"name": "Acme"}, headers=key)
    assert again.status_code == 409 and "already has a project named 'Acme'" in again.text
    blank = await api.post("/v1/projects", json={"name": "  ", "color": "red"}, headers=key)
    assert blank.status_code == 422
    assert {tuple(d["loc"]) for d in blank.json()["error"]["details"]} >= {
        ("body", "name"),
        ("body", "color"),
    }
    listed = (await api.get("/v1/projects", headers=key)).json()["data"]
    assert [p["name"] for p in listed] == ["Default", "Acme"]

    # The other mode's key has projects of its own.
    live = await add_key(db, tenant, test=False)
    assert (
        await api.get(f"/v1/projects/{acme['id']}", headers=bearer(live.api_key))
    ).status_code == 404
    [live_default] = (await api.get("/v1/projects", headers=bearer(live.api_key))).json()["data"]
    assert live_default["id"] != default["id"] and not live_default["is_test"]

    # Another tenant's key finds none of it; a key without social.manage changes nothing.
    stranger_key = (await make_tenant(db)).api_key
    stranger = bearer(stranger_key)
    assert default["id"] not in await ids_at(api, stranger_key, "/v1/projects")
    for method, body in (("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)):
        answer = await api.request(
            method, f"/v1/projects/{acme['id']}", json=body, headers=stranger
        )
        assert answer.status_code == 404, (method, answer.text)
    viewer = bearer((await add_key(db, tenant, scopes=("social.view",))).api_key)
    assert (await api.post("/v1/projects", json={"name": "X"}, headers=viewer)).status_code == 403

    renamed = await api.patch(f"/v1/projects/{acme['id']}", json={"name": "Acme Ltd"}, headers=key)
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Acme Ltd"
    clash = await api.patch(f"/v1/projects/{acme['id']}", json={"name": "Default"}, headers=key)
    assert clash.status_code == 409
    home = await api.patch(f"/v1/projects/{default['id']}", json={"name": "Home"}, headers=key)
    assert home.status_code == 200 and home.json()["data"]["is_default"] is True

    refused = await api.delete(f"/v1/projects/{default['id']}", headers=key)
    assert refused.status_code == 409 and "rename it instead" in refused.text

    # A project with a connected account, a scheduled post and an endpoint keeps them.
    account = await make_account(db, settings, tenant, Platform.X, "1", project_id=acme["id"])
    post, target = await make_post(db, tenant, account)
    async with db.session() as session:
        await session.exec(
            update(Target).where(Target.id == target.id).values(status=TargetStatus.SCHEDULED)  # type: ignore[arg-type]
        )
        await session.commit()
    hook = await api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/acme", "project_id": acme["id"]},
        headers=key,
    )
    assert hook.status_code == 201, hook.text
    shown = (await api.get(f"/v1/projects/{acme['id']}", headers=key)).json()["data"]
    assert (shown["accounts"], shown["posts"]) == (1, 1)
    held = await api.delete(f"/v1/projects/{acme['id']}", headers=key)
    assert held.status_code == 409
    message = held.json()["error"]["message"]
    for words in ("1 connected account", "disconnect", "1 post(s)", "cancel", "1 webhook"):
        assert words in message, message

    empty = await new_project(api, tenant, "Spare")
    assert (await api.delete(f"/v1/projects/{empty['id']}", headers=key)).status_code == 204
    assert (await api.get(f"/v1/projects/{empty['id']}", headers=key)).status_code == 404
    assert empty["id"] not in await ids_at(api, tenant.api_key, "/v1/projects")
    # Its name is free again.
    await new_project(api, tenant, "Spare")
    assert post.project_id == acme["id"]


async def test_the_same_brand_connected_in_two_projects_is_two_accounts(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    a, b = await new_project(api, tenant, "A"), await new_project(api, tenant, "B")
    accounts = []
    for project in (a, b):
        started = await start_connect(api, tenant.api_key, "x", project_id=project["id"])
        back = await callback(api, "x", await consent(browser, started["authorization_url"]))
        assert back.status_code == 200, back.text
        [account] = back.json()["data"]["accounts"]
        accounts.append(account)
    assert accounts[0]["external_id"] == accounts[1]["external_id"]
    assert accounts[0]["id"] != accounts[1]["id"]
    assert [x["project_id"] for x in accounts] == [a["id"], b["id"]]

    key = tenant.api_key
    assert await ids_at(api, key, "/v1/accounts", project_id=a["id"]) == [accounts[0]["id"]]
    assert await ids_at(api, key, "/v1/accounts", project_id=b["id"]) == [accounts[1]["id"]]
    assert len(await ids_at(api, key, "/v1/accounts")) == 2
    assert await ids_at(api, key, "/v1/accounts", project_id="no-such-project") == []
    shown = (await api.get(f"/v1/projects/{a['id']}", headers=bearer(key))).json()["data"]
    assert shown["accounts"] == 1


async def test_a_posts_accounts_share_its_project(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    a, b = await new_project(api, tenant, "A"), await new_project(api, tenant, "B")
    in_a = await make_account(db, settings, tenant, Platform.X, "1", project_id=a["id"])
    in_b = await make_account(db, settings, tenant, Platform.X, "2", project_id=b["id"])
    key = bearer(tenant.api_key)
    targets = [{"account_id": in_a.id}, {"account_id": in_b.id}]

    mixed = await api.post("/v1/posts", json={"body": "hi", "targets": targets}, headers=key)
    assert mixed.status_code == 422, mixed.text
    assert [d["loc"] for d in mixed.json()["error"]["details"]] == [["body", "project_id"]]

    named = await api.post(
        "/v1/posts", json={"body": "hi", "targets": targets, "project_id": a["id"]}, headers=key
    )
    assert named.status_code == 422, named.text
    assert [d["loc"] for d in named.json()["error"]["details"]] == [
        ["body", "targets", 1, "account_id"]
    ]

    made = await api.post("/v1/posts", json={"body": "hi", "targets": targets[1:]}, headers=key)
    assert made.status_code == 201, made.text
    assert made.json()["data"]["project_id"] == b["id"]
    assert await ids_at(api, tenant.api_key, "/v1/posts", project_id=b["id"]) == [
        made.json()["data"]["id"]
    ]
    assert await ids_at(api, tenant.api_key, "/v1/posts", project_id=a["id"]) == []


async def test_a_key_limited_to_a_project_sees_only_that_project(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    a, b = await new_project(api, tenant, "A"), await new_project(api, tenant, "B")
    in_a = await make_account(db, settings, tenant, Platform.X, "1", project_id=a["id"])
    in_b = await make_account(db, settings, tenant, Platform.X, "2", project_id=b["id"])
    post_a, _ = await make_post(db, tenant, in_a)
    post_b, target_b = await make_post(db, tenant, in_b)
    limited = await add_key(db, tenant, name="agency client A", project_ids=(a["id"],))
    key = bearer(limited.api_key)

    assert await ids_at(api, limited.api_key, "/v1/projects") == [a["id"]]
    assert await ids_at(api, limited.api_key, "/v1/accounts") == [in_a.id]
    assert await ids_at(api, limited.api_key, "/v1/posts") == [post_a.id]
    # Naming a project it does not reach lists nothing, as another tenant's would.
    assert await ids_at(api, limited.api_key, "/v1/posts", project_id=b["id"]) == []
    assert await ids_at(api, limited.api_key, "/v1/accounts", project_id=b["id"]) == []
    for path in (
        f"/v1/projects/{b['id']}",
        f"/v1/posts/{post_b.id}",
        f"/v1/targets/{target_b.id}/attempts",
    ):
        assert (await api.get(path, headers=key)).status_code == 404, path
    renamed = await api.patch(f"/v1/projects/{b['id']}", json={"name": "Mine"}, headers=key)
    assert renamed.status_code == 404
    onto_b = await api.post(
        "/v1/posts", json={"body": "hi", "targets": [{"account_id": in_b.id}]}, headers=key
    )
    assert onto_b.status_code == 422, onto_b.text
    assert onto_b.json()["error"]["details"] == [
        {"loc": ["body", "targets", 0, "account_id"], "msg": "no such account"}
    ]

    refused = await api.post("/v1/projects", json={"name": "C"}, headers=key)
    assert refused.status_code == 403 and "limited to projects" in refused.text

    # Its endpoints are its project's; the tenant's other endpoints are out of its reach.
    everything = await api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/all"},
        headers=bearer(tenant.api_key),
    )
    assert everything.json()["data"]["project_id"] is None
    own = await api.post("/v1/webhooks", json={"url": "https://hooks.example.com/a"}, headers=key)
    assert own.status_code == 201 and own.json()["data"]["project_id"] == a["id"]
    elsewhere = await api.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/b", "project_id": b["id"]},
        headers=key,
    )
    assert elsewhere.status_code == 404
    assert await ids_at(api, limited.api_key, "/v1/webhooks") == [own.json()["data"]["id"]]
    all_id = everything.json()["data"]["id"]
    assert (await api.get(f"/v1/webhooks/{all_id}", headers=key)).status_code == 404
    assert (await api.delete(f"/v1/webhooks/{all_id}", headers=key)).status_code == 404
    assert (await api.post(f"/v1/webhooks/{all_id}/enable", headers=key)).status_code == 404

    # The whole tenant's key sees both, and filters.
    whole = tenant.api_key
    assert set(await ids_at(api, whole, "/v1/webhooks")) == {all_id, own.json()["data"]["id"]}
    assert await ids_at(api, whole, "/v1/webhooks", project_id=a["id"]) == [
        own.json()["data"]["id"]
    ]
    assert await ids_at(api, whole, "/v1/webhooks", project_id=b["id"]) == []

    # A key limited to two projects names the one its endpoint hears.
    both = await add_key(db, tenant, project_ids=(a["id"], b["id"]))
    unnamed = await api.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/x"}, headers=bearer(both.api_key)
    )
    assert unnamed.status_code == 422 and "project_id" in unnamed.text


@pytest.mark.e2e
async def test_an_endpoint_of_a_project_hears_only_that_projects_events(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database
) -> None:
    async with (
        open_stack(dev_env, settings, db) as stack,
        serving(WebhookReceiver(), lifespan="off") as base,
    ):
        key = bearer(stack.tenant.api_key)
        projects = [await new_project(stack.api, stack.tenant, name) for name in ("A", "B")]
        hooks = {}
        for name, project_id in (("a", projects[0]["id"]), ("all", None)):
            made = await stack.api.post(
                "/v1/webhooks",
                json={"url": f"{base}/{name}", "project_id": project_id},
                headers=key,
            )
            assert made.status_code == 201, made.text
            hooks[name] = made.json()["data"]["id"]
        posts = []
        for number, project in enumerate(projects, start=1):
            account = await make_account(
                stack.db,
                stack.settings,
                stack.tenant,
                Platform.X,
                f"160000000000000000{number}",
                project_id=project["id"],
            )
            made = await stack.api.post(
                "/v1/posts",
                json={"body": f"post {number}", "targets": [{"account_id": account.id}]},
                headers=key,
            )
            assert made.status_code == 201, made.text
            post_id = made.json()["data"]["id"]
            published = await stack.api.post(f"/v1/posts/{post_id}/publish", json={}, headers=key)
            assert published.status_code == 202, published.text
            posts.append(post_id)

        async def heard_everywhere() -> dict[str, set[tuple[str, str]]] | None:
            """Each endpoint's (event type, post) pairs, once the tenant's heard both posts."""
            async with stack.db.session() as session:
                rows = (
                    await session.exec(
                        select(WebhookDelivery, Event).join(
                            Event,
                            Event.id == WebhookDelivery.event_id,  # type: ignore[arg-type]
                        )
                    )
                ).all()
            found: dict[str, set[tuple[str, str]]] = {hook: set() for hook in hooks.values()}
            for delivery, event in rows:
                found[delivery.endpoint_id].add((event.type, event.data.get("post_id", "")))
            everywhere = {("social.post_published", p) for p in posts} <= found[hooks["all"]]
            return found if everywhere else None

        found = await eventually(heard_everywhere, "both posts heard by the tenant's endpoint")
        # Project A's endpoint heard A's post (its target's event too, whose data names the
        # post, not the project) and nothing of B's.
        assert ("social.post_published", posts[0]) in found[hooks["a"]]
        assert {post for _, post in found[hooks["a"]]} == {posts[0]}
