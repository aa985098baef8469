"""One post, one request, every platform crier supports so far: each target publishes to its
sandbox platform with its public URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.main import create_app
from core.status import Platform
from providers.registry import PROVIDERS
from tests.support.factories import make_account, make_tenant
from tests.support.harness import Harness

ACCOUNTS = {
    Platform.FACEBOOK: "200000000000001",
    Platform.INSTAGRAM: "17841400000000001",
    Platform.LINKEDIN: "urn:li:organization:1001",
    Platform.X: "1500000000000000001",
    Platform.BLUESKY: "did:plc:fanouttest0000000000000",
    Platform.THREADS: "27000000000000001",
    Platform.GOOGLE_BUSINESS: "accounts/1001/locations/2002",
    Platform.PINTEREST: "900000000000000001",
    Platform.TIKTOK: "tiktok-open-id-fanout",
    Platform.YOUTUBE: "UCfanout0000000000000000",
}
VIDEO_ONLY = {Platform.TIKTOK, Platform.YOUTUBE}
URL_SHAPES = {
    Platform.FACEBOOK: "/facebook/p/",
    Platform.INSTAGRAM: "https://www.instagram.com/p/",
    Platform.LINKEDIN: "https://www.linkedin.com/feed/update/urn:li:",
    Platform.X: "https://x.com/i/status/",
    Platform.BLUESKY: "https://bsky.app/profile/did:plc:fanouttest",
    Platform.THREADS: "https://www.threads.com/@sandbox_27000000000000001/post/",
    Platform.GOOGLE_BUSINESS: "https://local.google.com/place?id=",
    Platform.PINTEREST: "https://www.pinterest.com/pin/",
    Platform.TIKTOK: "https://www.tiktok.com/@",
    Platform.YOUTUBE: "https://www.youtube.com/watch?v=",
}


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield client


async def test_one_post_fans_out_to_every_supported_platform(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    assert set(ACCOUNTS) == set(PROVIDERS), "a new platform belongs in this test"
    tenant = await make_tenant(harness.db)
    accounts = {
        platform: await make_account(harness.db, harness.settings, tenant, platform, external)
        for platform, external in ACCOUNTS.items()
    }
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    # Media the sandbox itself serves, so providers that upload bytes can fetch them; the
    # video-only platforms get a video through their target's own media.
    image = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"
    video = f"{harness.settings.sandbox_url}/samples/video/clip.mp4"

    created = await api.post(
        "/v1/posts",
        headers=headers,
        json={
            "body": "Fan-out day: one post, every platform",
            "media_urls": [image],
            "targets": [
                {"account_id": a.id, "override_media_urls": [video]}
                if platform in VIDEO_ONLY
                else {"account_id": a.id}
                for platform, a in accounts.items()
            ],
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    started = await api.post(f"/v1/posts/{post['id']}/publish", headers=headers, json={})
    assert started.status_code == 202, started.text

    finals = {
        t["platform"]: await harness.result(t["workflow_id"])
        for t in started.json()["data"]["targets"]
    }
    failures = {p: f.error for p, f in finals.items() if f.status != "published"}
    assert failures == {}

    targets = (await api.get(f"/v1/posts/{post['id']}/targets", headers=headers)).json()["data"]
    for target in targets:
        platform = Platform(target["platform"])
        assert URL_SHAPES[platform] in target["url"], (platform, target["url"])
        [received] = await harness.posts(platform)
        assert received["id"] == target["external_id"]
    shown = (await api.get(f"/v1/posts/{post['id']}", headers=headers)).json()["data"]
    assert shown["status"] == "published"


async def test_a_targets_platform_options_reach_the_platform(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(harness.db)
    channel = await make_account(
        harness.db, harness.settings, tenant, Platform.YOUTUBE, ACCOUNTS[Platform.YOUTUBE]
    )
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    video = f"{harness.settings.sandbox_url}/samples/video/clip.mp4"
    target = {"account_id": channel.id, "options": {"title": "Launch film", "privacy": "private"}}
    created = await api.post(
        "/v1/posts",
        headers=headers,
        json={"body": "The launch, in two minutes", "media_urls": [video], "targets": [target]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["targets"][0]["options"] == target["options"]
    post_id = created.json()["data"]["id"]
    started = await api.post(f"/v1/posts/{post_id}/publish", headers=headers, json={})
    [final] = [await harness.result(t["workflow_id"]) for t in started.json()["data"]["targets"]]
    assert final.status == "published"
    [uploaded] = await harness.posts(Platform.YOUTUBE)
    assert uploaded["published"] is False  # uploaded private, as the option asked


async def test_text_is_counted_the_platforms_way_at_create_time(
    harness: Harness, api: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(harness.db)
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, ACCOUNTS[Platform.X])
    sky = await make_account(
        harness.db, harness.settings, tenant, Platform.BLUESKY, ACCOUNTS[Platform.BLUESKY]
    )
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    # 150 CJK characters weigh 300 on X; 150 family emoji are 150 graphemes on Bluesky.
    response = await api.post(
        "/v1/posts",
        headers=headers,
        json={
            "body": "x",
            "targets": [
                {"account_id": x.id, "override_body": "漢" * 150},
                {"account_id": sky.id, "override_body": "👨‍👩‍👧" * 301},
            ],
        },
    )
    assert response.status_code == 422
    messages = [d["msg"] for d in response.json()["error"]["details"]]
    assert messages == [
        "300 weighted characters; x allows at most 280",
        "301 graphemes; bluesky allows at most 300",
    ]
