"""The lifecycle over HTTP: the API steering real workflows on the time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from api.main import create_app
from core.models import Account, Tenant
from tests.support.events import events_of
from tests.support.factories import TenantFixture, add_key, make_facebook_page, make_tenant
from tests.support.harness import Harness


class Client:
    """The API as a caller sees it, plus the workflow behind each target."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        harness: Harness,
        tenant: TenantFixture,
        reviewer: TenantFixture,
    ) -> None:
        self.http = http
        self.harness = harness
        self.headers = {"Authorization": f"Bearer {tenant.api_key}"}
        # Another key of the tenant: a key may not approve the posts it created.
        self.reviewer = {"Authorization": f"Bearer {reviewer.api_key}"}

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.request(
            method, path, headers={**self.headers, **(headers or {})}, **kwargs
        )

    async def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == expect, response.text
        return response.json()["data"] if response.content else None

    async def review(
        self, post_id: str, verdict: str, expect: int = 200, **body: Any
    ) -> httpx.Response:
        """Approve or reject as the reviewer does: judging the version just read."""
        seen = await self.ok("GET", f"/v1/posts/{post_id}")
        response = await self.call(
            "POST",
            f"/v1/posts/{post_id}/{verdict}",
            headers=self.reviewer,
            json={"expected_updated_at": seen["updated_at"], **body},
        )
        assert response.status_code == expect, response.text
        return response

    async def schedule(self, post: dict[str, Any], **delta: float) -> Any:
        """Publish `post` at now plus `delta` (the server's clock)."""
        when = await self.when(**delta)
        return await self.ok(
            "POST", f"/v1/posts/{post['id']}/publish", 202, json={"scheduled_for": when}
        )

    async def when(self, **delta: float) -> str:
        return (await self.harness.now() + timedelta(**delta)).isoformat()

    async def finish(self, post: dict[str, Any]) -> list[Any]:
        """Wait for every target's workflow; their final states."""
        return [await self.harness.result(t["workflow_id"]) for t in post["targets"]]


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db)


@pytest.fixture
async def page(harness: Harness, tenant: TenantFixture) -> Account:
    return await make_facebook_page(harness.db, harness.settings, tenant)


@pytest.fixture
async def client(harness: Harness, tenant: TenantFixture) -> AsyncIterator[Client]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        reviewer = await add_key(
            harness.db, tenant, name="reviewer key", scopes=("social.view", "social.approve")
        )
        yield Client(http, harness, tenant, reviewer)


async def new_post(client: Client, page: Account, **fields: Any) -> dict[str, Any]:
    body = {"body": "Launch day", "targets": [{"account_id": page.id}], **fields}
    post: dict[str, Any] = await client.ok("POST", "/v1/posts", expect=201, json=body)
    return post


async def test_approve_over_http_records_the_reviewer_and_publishes(
    client: Client, page: Account, harness: Harness
) -> None:
    post = await new_post(client, page, requires_approval=True)
    assert post["approval"] == {
        "required": True,
        "state": "pending",
        "deadline": None,
        "reviewed_by": None,
        "comment": None,
        "reviewed_at": None,
    }
    scheduled = await client.schedule(post, hours=1)
    assert scheduled["status"] == "awaiting_approval"

    approved = (await client.review(post["id"], "approve", comment="Ship it")).json()["data"]
    assert approved["status"] == "scheduled"
    assert approved["approval"]["state"] == "approved"
    assert approved["approval"]["comment"] == "Ship it"
    assert approved["approval"]["reviewed_by"].startswith("reviewer key (sk_test_")

    later = await client.when(hours=2)
    await client.ok("POST", f"/v1/posts/{post['id']}/reschedule", json={"scheduled_for": later})

    [final] = await client.finish(scheduled)
    assert final.transitions == ["awaiting_approval", "scheduled", "publishing", "published"]
    await client.review(post["id"], "approve", expect=409)

    # What webhooks and the event stream were told, in order.
    events = await events_of(harness.db, page.tenant_id)
    assert [e.type for e in events] == [
        "social.approval_requested",
        "social.post_scheduled",  # approved, for its time
        "social.post_scheduled",  # moved
        "social.post_published",
    ]
    assert events[2].data["scheduled_for"] == later
    published = events[3].data
    target = (await client.ok("GET", f"/v1/posts/{post['id']}"))["targets"][0]
    assert published["url"] == target["url"] and "/facebook/p/" in published["url"]
    assert published["external_id"] == target["external_id"]
    assert (published["status"], published["platform"]) == ("published", "facebook")


async def test_reject_over_http_ends_every_target_with_the_comment(
    client: Client, page: Account, harness: Harness, tenant: TenantFixture
) -> None:
    second = await make_facebook_page(harness.db, harness.settings, tenant, page_id="300")
    post = await new_post(
        client,
        page,
        requires_approval=True,
        targets=[{"account_id": page.id}, {"account_id": second.id}],
    )
    await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})

    rejected = (await client.review(post["id"], "reject", comment="Wrong price")).json()["data"]

    assert rejected["status"] == "rejected"
    assert rejected["approval"]["state"] == "rejected"
    assert [t["status"] for t in rejected["targets"]] == ["rejected", "rejected"]
    assert all(t["last_error"].endswith(": Wrong price") for t in rejected["targets"])
    assert await harness.posts() == []


async def test_approval_needs_the_approve_scope(
    client: Client, page: Account, harness: Harness
) -> None:
    post = await new_post(client, page, requires_approval=True)
    author = await make_tenant(
        harness.db, scopes=("social.view", "social.manage", "social.publish")
    )
    response = await client.http.post(
        f"/v1/posts/{post['id']}/approve",
        json={},
        headers={"Authorization": f"Bearer {author.api_key}"},
    )
    assert response.status_code == 403


async def _tenant_flags(harness: Harness, tenant: TenantFixture, **flags: bool) -> None:
    async with harness.db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)
        assert row is not None
        for name, value in flags.items():
            setattr(row, name, value)
        session.add(row)
        await session.commit()


async def test_the_tenant_setting_is_a_floor_a_post_may_add_approval_never_remove_it(
    client: Client, page: Account, harness: Harness, tenant: TenantFixture
) -> None:
    assert (await new_post(client, page, requires_approval=True))["approval"]["required"] is True
    await _tenant_flags(harness, tenant, requires_approval=True)
    assert (await new_post(client, page))["approval"]["required"] is True
    assert (await new_post(client, page, requires_approval=True))["approval"]["required"] is True
    refused = await client.call(
        "POST",
        "/v1/posts",
        json={"body": "skip it", "targets": [{"account_id": page.id}], "requires_approval": False},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"] == [
        {
            "loc": ["body", "requires_approval"],
            "msg": "the tenant requires approval; leave it out or send true",
        }
    ]


async def test_a_key_cannot_approve_its_own_post_unless_the_tenant_allows_it(
    client: Client, page: Account, harness: Harness, tenant: TenantFixture
) -> None:
    post = await new_post(client, page, requires_approval=True)
    seen = await client.ok("GET", f"/v1/posts/{post['id']}")
    own = await client.call(
        "POST", f"/v1/posts/{post['id']}/approve", json={"expected_updated_at": seen["updated_at"]}
    )
    assert own.status_code == 403, own.text
    assert own.json()["error"]["code"] == "self_approval"
    await _tenant_flags(harness, tenant, allow_self_approval=True)
    allowed = await client.call(
        "POST", f"/v1/posts/{post['id']}/approve", json={"expected_updated_at": seen["updated_at"]}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"]["approval"]["state"] == "approved"


async def test_a_decision_names_the_version_it_judged_and_a_stale_one_is_refused(
    client: Client, page: Account
) -> None:
    post = await new_post(client, page, requires_approval=True)
    read_by_reviewer = await client.ok("GET", f"/v1/posts/{post['id']}")
    # The author edits while the reviewer is reading.
    await client.ok(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "Something else", "expected_updated_at": read_by_reviewer["updated_at"]},
    )
    for verdict in ("approve", "reject"):
        stale = await client.call(
            "POST",
            f"/v1/posts/{post['id']}/{verdict}",
            headers=client.reviewer,
            json={"expected_updated_at": read_by_reviewer["updated_at"]},
        )
        assert stale.status_code == 409, stale.text
        assert stale.json()["error"]["code"] == "stale"
    missing = await client.call(
        "POST", f"/v1/posts/{post['id']}/approve", headers=client.reviewer, json={}
    )
    assert missing.status_code == 422
    after = await client.ok("GET", f"/v1/posts/{post['id']}")
    assert after["approval"]["state"] == "pending" and after["body"] == "Something else"


async def test_reschedule_over_http(client: Client, page: Account) -> None:
    post = await new_post(client, page)
    await client.schedule(post, hours=1)
    later = await client.when(hours=3)

    moved = await client.ok(
        "POST", f"/v1/posts/{post['id']}/reschedule", json={"scheduled_for": later}
    )
    assert datetime.fromisoformat(moved["targets"][0]["scheduled_for"]) == datetime.fromisoformat(
        later
    )

    naive = await client.call(
        "POST", f"/v1/posts/{post['id']}/reschedule", json={"scheduled_for": "2031-01-01T09:00:00"}
    )
    assert naive.status_code == 422
    past = await client.call(
        "POST",
        f"/v1/posts/{post['id']}/reschedule",
        json={"scheduled_for": "2001-01-01T09:00:00Z"},
    )
    assert past.status_code == 422
    unchanged = await client.ok("GET", f"/v1/posts/{post['id']}")
    assert unchanged["targets"][0]["scheduled_for"] == moved["targets"][0]["scheduled_for"]

    [final] = await client.finish(moved)
    assert final.publish_started_at >= datetime.fromisoformat(later)


async def test_cancel_over_http(client: Client, page: Account, harness: Harness) -> None:
    post = await new_post(client, page)
    await client.schedule(post, hours=1)

    cancelled = await client.ok("POST", f"/v1/posts/{post['id']}/cancel")

    assert cancelled["status"] == "cancelled"
    [final] = await client.finish(cancelled)
    assert final.transitions == ["scheduled", "cancelled"]
    assert await harness.posts() == []
    assert (await client.call("POST", f"/v1/posts/{post['id']}/cancel")).status_code == 409


async def test_publish_now_on_a_scheduled_post_publishes_once(
    client: Client, page: Account, harness: Harness
) -> None:
    post = await new_post(client, page)
    await client.schedule(post, days=3)

    now = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    assert now["targets"][0]["status"] in ("publishing", "published")
    [final] = await client.finish(now)
    assert final.transitions == ["scheduled", "publishing", "published"]
    assert len(await harness.posts()) == 1
    assert (
        await client.call("POST", f"/v1/posts/{post['id']}/publish", json={})
    ).status_code == 409


async def test_attempts_show_each_try_and_retry_restarts_a_dead_target(
    client: Client, page: Account, harness: Harness
) -> None:
    await harness.inject(method="POST", path="/feed$", times=5, status=500, body={})
    post = await new_post(client, page)
    started = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    [final] = await client.finish(started)
    assert final.status == "dead"
    target_id = started["targets"][0]["id"]
    [failed] = await events_of(harness.db, page.tenant_id)
    assert failed.type == "social.post_failed"
    assert failed.data["status"] == "dead" and failed.data["target_id"] == target_id
    assert "HTTP 500" in failed.data["error"]

    attempts = await client.ok("GET", f"/v1/targets/{target_id}/attempts")
    assert [a["number"] for a in attempts] == [1, 2, 3, 4, 5]
    # Each 500 might have come after the platform acted: each was looked for, and not there.
    assert {a["outcome"] for a in attempts} == {"not_found"}
    assert attempts[0]["error_class"] == "transient"
    assert attempts[0]["message"] == "HTTP 500"
    assert attempts[0]["finished_at"] >= attempts[0]["started_at"]

    retried = await client.ok("POST", f"/v1/targets/{target_id}/retry", 202)
    assert retried["status"] == "scheduled"
    assert (await harness.result(retried["workflow_id"])).status == "published"
    assert len(await client.ok("GET", f"/v1/targets/{target_id}/attempts")) == 6
    assert len(await harness.posts()) == 1

    refused = await client.call("POST", f"/v1/targets/{target_id}/retry")
    assert refused.status_code == 409
    assert "published" in refused.json()["error"]["message"]


async def test_edit_checks_staleness_and_state(client: Client, page: Account) -> None:
    post = await new_post(client, page)
    stale = await client.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "New", "expected_updated_at": "2020-01-01T00:00:00Z"},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale"

    edited = await client.ok(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "New text", "expected_updated_at": post["updated_at"]},
    )
    assert edited["body"] == "New text"
    assert edited["updated_at"] > post["updated_at"]

    too_long = await client.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "x" * 70_000, "expected_updated_at": edited["updated_at"]},
    )
    assert too_long.status_code == 422

    started = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    await client.finish(started)
    late = await client.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "Too late", "expected_updated_at": edited["updated_at"]},
    )
    assert late.status_code == 409
    assert late.json()["error"]["details"][0]["msg"] == "the target is published"


async def test_editing_an_approved_post_sends_it_back_for_approval(
    client: Client, page: Account
) -> None:
    post = await new_post(client, page, requires_approval=True)
    await client.schedule(post, hours=2)
    approved = (await client.review(post["id"], "approve")).json()["data"]

    edited = await client.ok(
        "PATCH",
        f"/v1/posts/{post['id']}",
        json={"body": "Changed after approval", "expected_updated_at": approved["updated_at"]},
    )

    assert edited["approval"]["state"] == "pending"
    assert edited["status"] == "awaiting_approval"
    assert edited["targets"][0]["status"] == "awaiting_approval"


async def test_delete_cancels_first_and_hides_the_post(
    client: Client, page: Account, harness: Harness
) -> None:
    post = await new_post(client, page)
    scheduled = await client.schedule(post, hours=1)

    assert await client.ok("DELETE", f"/v1/posts/{post['id']}", 204) is None

    [final] = await client.finish(scheduled)
    assert final.transitions == ["scheduled", "cancelled"]
    assert (await client.call("GET", f"/v1/posts/{post['id']}")).status_code == 404
    await harness.env.sleep(timedelta(hours=2))
    assert await harness.posts() == []


async def test_list_filters_searches_and_pages(client: Client, page: Account) -> None:
    ids = [(await new_post(client, page, body=f"Spring sale {n}"))["id"] for n in range(3)]
    other = await new_post(client, page, body="Autumn news")
    await client.ok("POST", f"/v1/posts/{other['id']}/cancel")

    response = await client.call("GET", "/v1/posts", params={"search": "spring", "limit": 2})
    listed = response.json()
    assert listed["meta"] == {"count": 2, "total": 3, "limit": 2, "offset": 0}
    assert [p["id"] for p in listed["data"]] == ids[::-1][:2]  # newest first

    rest = (await client.call("GET", "/v1/posts", params={"search": "spring", "offset": 2})).json()
    assert [p["id"] for p in rest["data"]] == [ids[0]]

    cancelled = (await client.call("GET", "/v1/posts", params={"status": "cancelled"})).json()
    assert [p["id"] for p in cancelled["data"]] == [other["id"]]
    bad = await client.call("GET", "/v1/posts", params={"limit": 0})
    assert bad.status_code == 422


async def test_idempotency_key_returns_the_first_answer(client: Client, page: Account) -> None:
    body = {"body": "Once only", "targets": [{"account_id": page.id}]}
    key = {"Idempotency-Key": "create-42"}
    first = await client.call("POST", "/v1/posts", json=body, headers=key)
    second = await client.call("POST", "/v1/posts", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()

    listed = (await client.call("GET", "/v1/posts", params={"search": "Once only"})).json()
    assert listed["meta"]["total"] == 1

    changed = await client.call("POST", "/v1/posts", json={**body, "body": "Other"}, headers=key)
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_draft_target_over_http(client: Client, page: Account, harness: Harness) -> None:
    post = await new_post(client, page, targets=[{"account_id": page.id, "mode": "draft"}])
    started = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    [final] = await client.finish(started)
    assert final.status == "drafted"
    shown = await client.ok("GET", f"/v1/posts/{post['id']}")
    assert shown["status"] == "drafted"
    assert shown["targets"][0]["mode"] == "draft"
    [sent] = await harness.posts()
    assert sent["published"] is False


async def test_notifications_are_kept_for_the_tenant(
    client: Client, page: Account, harness: Harness
) -> None:
    from core.models import Notification

    await harness.inject(method="POST", path="/feed$", times=5, status=500, body={})
    post = await new_post(client, page)
    started = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    await client.finish(started)
    async with harness.db.session() as session:
        rows = (await session.exec(select(Notification))).all()
    assert [(n.kind, n.post_id) for n in rows] == [("target_dead", post["id"])]


async def test_an_approved_post_publishes_only_the_media_its_reviewer_saw(
    client: Client, page: Account, harness: Harness
) -> None:
    base = f"{harness.settings.sandbox_url}/samples/swappable"
    kept, swapped = f"{base}/kept", f"{base}/swapped"
    posts = []
    for url in (kept, swapped):
        post = await new_post(client, page, body=url, media_urls=[url], requires_approval=True)
        scheduled = await client.ok(
            "POST",
            f"/v1/posts/{post['id']}/publish",
            202,
            json={"scheduled_for": await client.when(hours=1)},
        )
        await client.review(post["id"], "approve")
        posts.append(scheduled)
    # After the approval, someone replaces the file behind the second URL.
    (await harness.sandbox.put(f"{base}/swapped", params={"size": "700x700"})).raise_for_status()

    [kept_final], [swapped_final] = [await client.finish(p) for p in posts]

    assert kept_final.status == "published", kept_final.error
    assert swapped_final.status == "failed"
    assert swapped_final.error is not None
    assert f"media {swapped} changed after it was approved" in swapped_final.error
    assert [p["text"] for p in await harness.posts()] == [kept]


async def test_alt_text_given_as_media_objects_reaches_the_platform(
    client: Client, page: Account, harness: Harness
) -> None:
    """End to end: the API stores it, the delivery carries it, the platform receives it."""
    photo = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"
    post = await new_post(
        client, page, media=[{"url": photo, "alt": "A red kite over a green hill"}]
    )
    assert post["media"] == [{"url": photo, "alt": "A red kite over a green hill"}]
    published = await client.ok("POST", f"/v1/posts/{post['id']}/publish", 202, json={})
    [final] = await client.finish(published)
    assert final.status == "published"
    [sent] = await harness.posts()
    assert sent["alt"] == ["A red kite over a green hill"]
