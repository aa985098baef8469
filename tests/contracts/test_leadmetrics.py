"""Seed 000's routes, called as its page names them, and the delivery rules it states: a
`scheduledAt` up to 10 minutes past publishes at once and one further past is refused or
recorded missed; cancel-schedule sends the post back to a draft that can be scheduled again;
"Publish Now" on a post awaiting approval publishes when it is approved, however late.

On Temporal's time-skipping server, with the real worker and the sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.main import create_app
from core.db import utcnow
from core.models import Account
from tests.support.factories import TenantFixture, add_key, make_facebook_page, make_tenant
from tests.support.harness import Harness

pytestmark = pytest.mark.timeout(180)

SEED = "/tenant/v1/social"


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db)


@pytest.fixture
async def page(harness: Harness, tenant: TenantFixture) -> Account:
    return await make_facebook_page(harness.db, harness.settings, tenant)


@pytest.fixture
async def api(harness: Harness, tenant: TenantFixture) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            headers={"Authorization": f"Bearer {tenant.api_key}"},
        ) as http,
    ):
        yield http


async def new_post(api: httpx.AsyncClient, page: Account, **fields: Any) -> str:
    created = await api.post(
        "/v1/posts", json={"body": "Spring menu", "targets": [{"account_id": page.id}], **fields}
    )
    assert created.status_code == 201, created.text
    post_id: str = created.json()["data"]["id"]
    return post_id


async def call(api: httpx.AsyncClient, path: str, expect: int = 202, **body: Any) -> Any:
    answer = await api.post(path, json=body or None)
    assert answer.status_code == expect, answer.text
    return answer.json()


async def workflow_of(api: httpx.AsyncClient, post_id: str) -> str:
    post = (await api.get(f"/v1/posts/{post_id}")).json()["data"]
    workflow_id: str = post["targets"][0]["workflow_id"]
    return workflow_id


async def test_schedule_cancel_schedule_again_then_publish_now(
    api: httpx.AsyncClient, harness: Harness, page: Account
) -> None:
    post_id = await new_post(api, page)
    tomorrow = (await harness.now() + timedelta(days=1)).isoformat()
    scheduled = (await call(api, f"{SEED}/{post_id}/schedule", scheduledAt=tomorrow))["data"]
    assert scheduled["status"] == "scheduled" and scheduled["scheduledAt"] is not None

    moved = (await harness.now() + timedelta(days=2)).isoformat()
    rescheduled = (await call(api, f"{SEED}/{post_id}/schedule", scheduledAt=moved))["data"]
    assert rescheduled["targets"][0]["status"] == "scheduled"

    unscheduled = (await call(api, f"{SEED}/{post_id}/cancel-schedule", 200))["data"]
    assert (unscheduled["status"], unscheduled["scheduledAt"]) == ("draft", None)
    assert unscheduled["targets"][0]["status"] == "draft"
    # The first run has ended (read without skipping time: nothing is left to wait for).
    first = harness.env.client.get_workflow_handle(await workflow_of(api, post_id))
    assert (await first.result())["transitions"] == ["scheduled", "draft"]

    again = (await call(api, f"{SEED}/{post_id}/schedule", scheduledAt=tomorrow))["data"]
    assert again["status"] == "scheduled"
    # crier's own unschedule is the same call, and the post is a draft again.
    back = await api.post(f"/v1/posts/{post_id}/unschedule")
    assert back.status_code == 200, back.text
    assert back.json()["data"]["status"] == "draft"

    await call(api, f"{SEED}/{post_id}/publish")
    final = await harness.result(await workflow_of(api, post_id))
    assert final.status == "published"
    status = (await api.get(f"{SEED}/{post_id}/publish-status")).json()["data"]
    [sent] = await harness.posts()
    assert status["platformPostId"] == sent["id"]
    assert status["platformPostUrl"] and status["publishedAt"]
    assert (status["publishError"], status["publishAttempts"]) == (None, 1)
    assert status["targets"][0]["platformPostId"] == sent["id"]

    nothing = await api.post(f"{SEED}/{post_id}/cancel-schedule")
    assert nothing.status_code == 409  # published: nothing is scheduled


async def test_a_time_within_the_grace_period_publishes_at_once_and_later_is_refused_or_missed(
    api: httpx.AsyncClient, harness: Harness, page: Account
) -> None:
    recent = (utcnow() - timedelta(minutes=5)).isoformat()
    on_time = await new_post(api, page)
    await call(api, f"{SEED}/{on_time}/schedule", scheduledAt=recent)
    assert (await harness.result(await workflow_of(api, on_time))).status == "published"

    hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    refused_post = await new_post(api, page)
    refused = await api.post(f"{SEED}/{refused_post}/schedule", json={"scheduledAt": hour_ago})
    assert refused.status_code == 422
    [detail] = refused.json()["error"]["details"]
    assert "grace period (0:10:00)" in detail["msg"]

    missed_post = await new_post(api, page)
    await call(api, f"{SEED}/{missed_post}/schedule", scheduledAt=hour_ago, ifLate="missed")
    assert (await harness.result(await workflow_of(api, missed_post))).status == "missed"
    assert len(await harness.posts()) == 1


async def test_publish_now_awaiting_approval_publishes_when_approved_however_late(
    api: httpx.AsyncClient, harness: Harness, page: Account, tenant: TenantFixture
) -> None:
    reviewer = await add_key(harness.db, tenant, scopes=("social.view", "social.approve"))

    async def approve(post_id: str) -> None:
        seen = (await api.get(f"/v1/posts/{post_id}")).json()["data"]
        approved = await api.post(
            f"/v1/posts/{post_id}/approve",
            headers={"Authorization": f"Bearer {reviewer.api_key}"},
            json={"expected_updated_at": seen["updated_at"]},
        )
        assert approved.status_code == 200, approved.text

    now_post = await new_post(api, page, requires_approval=True)
    await call(api, f"{SEED}/{now_post}/publish")
    timed_post = await new_post(api, page, requires_approval=True, body="Timed menu")
    soon = (await harness.now() + timedelta(minutes=1)).isoformat()
    await call(api, f"/v1/posts/{timed_post}/publish", scheduled_for=soon)

    await harness.env.sleep(timedelta(hours=3))  # the reviewer comes back after lunch
    await approve(now_post)
    await approve(timed_post)

    assert (await harness.result(await workflow_of(api, now_post))).status == "published"
    # A scheduled time keeps its grace rule: three hours late is missed.
    assert (await harness.result(await workflow_of(api, timed_post))).status == "missed"
    assert [p["text"] for p in await harness.posts()] == ["Spring menu"]
