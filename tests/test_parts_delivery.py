"""Threads and first comments end to end: the API takes the parts, the delivery publishes them
through the real activities and attempt ledger to the sandbox, a lost answer is found rather
than posted again, and a refused part leaves the target `partially_published` until a retry
continues from the first missing part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.main import create_app
from core.models import Account
from core.status import Platform
from tests.support.factories import TenantFixture, make_account, make_facebook_page, make_tenant
from tests.support.harness import Harness

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db)


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


async def publish(
    api: httpx.AsyncClient,
    harness: Harness,
    accounts: list[Account],
    parts: list[str],
    history: str,
) -> list[dict[str, Any]]:
    """Create and publish now; each target's row once its workflow has ended. Each run's
    history is kept as `history`_<platform> (CRIER_RECORD_HISTORIES)."""
    created = await api.post(
        "/v1/posts",
        json={
            "body": "Launch day: a thread",
            "parts": [{"body": text} for text in parts],
            "targets": [{"account_id": a.id} for a in accounts],
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    assert [p["body"] for p in post["parts"]] == parts
    started = (await api.post(f"/v1/posts/{post['id']}/publish", json={})).json()["data"]
    for target in started["targets"]:
        await harness.result(target["workflow_id"])
        handle = harness.env.client.get_workflow_handle(target["workflow_id"])
        await harness.keep_history(handle, f"{history}_{target['platform']}")
    targets: list[dict[str, Any]] = (await api.get(f"/v1/posts/{post['id']}")).json()["data"][
        "targets"
    ]
    return targets


async def sent(harness: Harness, platform: Platform) -> list[dict[str, Any]]:
    return [p for p in await harness.posts(platform)]


async def test_a_thread_on_x_and_bluesky_is_a_chain_of_replies(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1700000000099")
    sky = await make_account(
        harness.db, harness.settings, tenant, Platform.BLUESKY, "did:plc:partsthread"
    )
    targets = await publish(
        api, harness, [x, sky], ["Second, a reply", "Third, its reply"], "thread"
    )
    for target in targets:
        assert target["status"] == "published", target
        assert [p["index"] for p in target["parts"]] == [1, 2]
        chain = {p["id"]: p for p in await sent(harness, Platform(target["platform"]))}
        post = chain[target["external_id"]]
        first, second = (chain[p["external_id"]] for p in target["parts"])
        assert post["kind"] == "post" and post["text"] == "Launch day: a thread"
        assert first["kind"] == "reply" and first["reply_to"] == post["id"]
        assert second["reply_to"] == first["id"] and second["text"] == "Third, its reply"
        assert len(chain) == 3  # each once


async def test_a_reply_carries_its_images_and_their_alt_text(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    """A part's media are checked at create like the post's, and sent with the reply."""
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1700000000097")
    sky = await make_account(
        harness.db, harness.settings, tenant, Platform.BLUESKY, "did:plc:partsmedia"
    )
    threads = await make_account(
        harness.db, harness.settings, tenant, Platform.THREADS, "17841400000000097"
    )
    photo = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"
    created = await api.post(
        "/v1/posts",
        json={
            "body": "Launch day, with pictures",
            "parts": [{"body": "The new logo", "media": [{"url": photo, "alt": "A red kite"}]}],
            "targets": [{"account_id": a.id} for a in (x, sky, threads)],
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    assert post["parts"] == [
        {
            "body": "The new logo",
            "delay_seconds": 0,
            "media_urls": [photo],
            "media": [{"url": photo, "alt": "A red kite"}],
        }
    ]
    started = (await api.post(f"/v1/posts/{post['id']}/publish", json={})).json()["data"]
    for target in started["targets"]:
        final = await harness.result(target["workflow_id"])
        assert final.status == "published", (target["platform"], final)
    for platform in (Platform.X, Platform.BLUESKY, Platform.THREADS):
        [root, reply] = await sent(harness, platform)
        assert (root["kind"], root["media"]) == ("post", []), platform
        assert reply["kind"] == "reply" and reply["reply_to"] == root["id"]
        assert len(reply["media"]) == 1, platform
        if platform is not Platform.THREADS:  # no alt-text field in its sources (platforms.md)
            assert reply["alt"] == ["A red kite"], platform


async def test_media_on_a_part_is_refused_where_the_part_cannot_carry_it(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1700000000096")
    base = harness.settings.sandbox_url

    async def refused(account: Account, media: str) -> set[tuple[tuple[Any, ...], str]]:
        answer = await api.post(
            "/v1/posts",
            json={
                "body": "Parts and their media",
                "parts": [{"body": "See this", "media_urls": [f"{base}/samples/{media}"]}],
                "targets": [{"account_id": account.id}],
            },
        )
        assert answer.status_code == 422, answer.text
        return {(tuple(d["loc"]), d["msg"]) for d in answer.json()["error"]["details"]}

    at = ("body", "parts", 0, "media_urls")
    on_page = await refused(page, "image/1080x1080.jpg")
    assert on_page == {(at, "a comment on facebook takes no media")}
    # A reply is sent within one activity: a video's processing wait has no durable timer there.
    on_x = await refused(x, "video/clip.mp4")
    assert (
        (*at, 0),
        "x: a reply takes images; post a video as the post",
    ) in on_x, on_x
    assert await sent(harness, Platform.X) == []


async def test_a_first_comment_on_a_video_made_for_kids_is_refused(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    channel = await make_account(
        harness.db, harness.settings, tenant, Platform.YOUTUBE, "UCpartsforkids00000000"
    )
    answer = await api.post(
        "/v1/posts/validate",
        json={
            "body": "Counting to ten",
            "media_urls": [f"{harness.settings.sandbox_url}/samples/video/clip.mp4"],
            "parts": [{"body": "Sing along!"}],
            "targets": [
                {"account_id": channel.id, "options": {"title": "Ten", "made_for_kids": True}}
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    problems = answer.json()["data"]["targets"][0]["problems"]
    assert [(p["loc"], p["msg"]) for p in problems] == [
        (
            ["body", "parts"],
            "a youtube video made for kids takes no comments; drop the parts or made_for_kids",
        )
    ]


async def test_a_drafts_parts_are_edited_until_it_is_scheduled(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1700000000095")
    created = await api.post(
        "/v1/posts",
        json={
            "body": "A thread in the making",
            "parts": [{"body": "first draft of the reply"}],
            "targets": [{"account_id": x.id}],
        },
    )
    post = created.json()["data"]
    photo = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"

    async def edit(parts: list[dict[str, Any]]) -> httpx.Response:
        read = (await api.get(f"/v1/posts/{post['id']}")).json()["data"]
        return await api.patch(
            f"/v1/posts/{post['id']}",
            json={"expected_updated_at": read["updated_at"], "parts": parts},
        )

    edited = await edit([{"body": "one", "media_urls": [photo]}, {"body": "two"}])
    assert edited.status_code == 200, edited.text
    assert [(p["body"], p["media_urls"]) for p in edited.json()["data"]["parts"]] == [
        ("one", [photo]),
        ("two", []),
    ]
    too_long = await edit([{"body": "x" * 281}])
    assert too_long.status_code == 422
    assert [d["loc"] for d in too_long.json()["error"]["details"]] == [["body", "parts", 0, "body"]]

    scheduled = await api.post(
        f"/v1/posts/{post['id']}/publish", json={"scheduled_for": "2099-01-01T09:00:00+00:00"}
    )
    assert scheduled.status_code == 202, scheduled.text
    late = await edit([])
    assert late.status_code == 409
    assert "parts can change only before" in late.json()["error"]["message"]
    kept = (await api.get(f"/v1/posts/{post['id']}")).json()["data"]["parts"]
    assert [p["body"] for p in kept] == ["one", "two"]


async def test_a_lost_comment_is_found_not_posted_twice(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    await harness.inject(method="POST", path="/comments$", times=1, accept_then_drop=True)
    [target] = await publish(api, harness, [page], ["First comment: the link"], "comment_found")
    assert target["status"] == "published", target
    comments = [p for p in await sent(harness, Platform.FACEBOOK) if p["kind"] == "comment"]
    assert len(comments) == 1 and comments[0]["reply_to"] == target["external_id"]
    assert target["parts"][0]["external_id"] == comments[0]["id"]
    attempts = (await api.get(f"/v1/targets/{target['id']}/attempts")).json()["data"]
    assert [a["outcome"] for a in attempts] == ["confirmed", "found"]


async def test_a_refused_comment_leaves_it_partially_published_until_a_retry(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    refusal = {
        "error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}
    }
    await harness.inject(method="POST", path="/comments$", times=1, status=400, body=refusal)
    [target] = await publish(api, harness, [page], ["First comment"], "comment_refused")
    assert target["status"] == "partially_published"
    assert target["last_error"].startswith("part 1 of 1 was not published")
    assert target["url"] and target["parts"] == []  # the post itself is live

    retried = await api.post(f"/v1/targets/{target['id']}/retry")
    assert retried.status_code == 202, retried.text
    workflow_id = retried.json()["data"]["workflow_id"]
    final = await harness.result(workflow_id)
    assert final.status == "published"
    retry = harness.env.client.get_workflow_handle(workflow_id)
    await harness.keep_history(retry, "retry_of_the_missing_parts_only")
    received = await sent(harness, Platform.FACEBOOK)
    assert [p["kind"] for p in received] == ["post", "comment"]  # the post never again


async def test_parts_a_platform_cannot_take_are_refused_at_create_naming_each(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    place = await make_account(
        harness.db, harness.settings, tenant, Platform.GOOGLE_BUSINESS, "accounts/9/locations/7"
    )
    refused = await api.post(
        "/v1/posts",
        json={
            "body": "Two comments",
            "parts": [{"body": "one"}, {"body": "two"}],
            "targets": [{"account_id": page.id}, {"account_id": place.id}],
        },
    )
    assert refused.status_code == 422
    messages = [d["msg"] for d in refused.json()["error"]["details"]]
    assert any("facebook takes at most 1 comment" in m for m in messages), messages
    assert any("google_business takes no thread replies or comments" in m for m in messages)


async def test_the_dry_run_previews_each_part_as_its_platform_takes_it(
    api: httpx.AsyncClient, harness: Harness, tenant: TenantFixture
) -> None:
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1700000000098")
    page = await make_facebook_page(harness.db, harness.settings, tenant)
    answer = await api.post(
        "/v1/posts/validate",
        json={
            "body": "Launch",
            "parts": [{"body": "Details at https://example.org/a-very-long-path"}],
            "targets": [{"account_id": x.id}, {"account_id": page.id}],
        },
    )
    assert answer.status_code == 200, answer.text
    checked = answer.json()["data"]
    assert checked["valid"] is True
    on_x, on_page = (t["preview"]["parts"] for t in checked["targets"])
    assert on_x == [
        {
            "index": 1,
            "kind": "reply",
            "text": "Details at https://example.org/a-very-long-path",
            # X counts every link as 23 characters.
            "length": {"count": 34, "max": 280, "unit": "weighted characters"},
            "media_urls": [],
        }
    ]
    assert on_page[0]["kind"] == "comment" and on_page[0]["length"]["max"] == 8000

    too_long = await api.post(
        "/v1/posts/validate",
        json={"body": "Launch", "parts": [{"body": "x" * 281}], "targets": [{"account_id": x.id}]},
    )
    [problem] = too_long.json()["data"]["targets"][0]["problems"]
    assert problem["loc"] == ["body", "parts", 0, "body"] and "281" in problem["msg"]
