"""Media checked against each platform's rules at create and edit time, fetched over real HTTP
from the sandbox's sample images."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.media_facts import MediaChecker, MediaFacts
from core.config import Settings
from core.db import Database
from core.guarded_fetch import media_fetcher
from core.models import Account
from core.status import Platform
from tests.support.factories import TenantFixture, make_account, make_tenant
from tests.support.servers import RunningSandbox

pytestmark = pytest.mark.asyncio

EXTERNAL_IDS = {
    Platform.FACEBOOK: "200000000000001",
    Platform.INSTAGRAM: "17841400000000001",
    Platform.LINKEDIN: "urn:li:organization:1001",
    Platform.X: "1500000000000000001",
    Platform.BLUESKY: "did:plc:mediatest00000000000000",
    Platform.THREADS: "27000000000000001",
    Platform.GOOGLE_BUSINESS: "accounts/1001/locations/2002",
    Platform.PINTEREST: "900000000000000001",
    Platform.TIKTOK: "tiktok-open-id-media",
    Platform.YOUTUBE: "UCmedia00000000000000000",
}


@pytest.fixture
async def api(
    settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, temporal=time_skipping_env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
        ) as client,
    ):
        yield client


@pytest.fixture
async def tenant(db: Database) -> TenantFixture:
    return await make_tenant(db)


@pytest.fixture
async def accounts(
    db: Database, settings: Settings, tenant: TenantFixture
) -> dict[Platform, Account]:
    return {
        platform: await make_account(db, settings, tenant, platform, external)
        for platform, external in EXTERNAL_IDS.items()
    }


def image(settings: Settings, name: str) -> str:
    return f"{settings.sandbox_url}/samples/image/{name}"


async def create(
    api: httpx.AsyncClient, tenant: TenantFixture, body: dict[str, Any]
) -> httpx.Response:
    return await api.post(
        "/v1/posts",
        headers={"Authorization": f"Bearer {tenant.api_key}"},
        json={"body": "Media day", **body},
    )


def details(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    found: list[dict[str, Any]] = response.json()["error"]["details"]
    return found


async def test_an_image_outside_instagrams_aspect_ratio_is_refused(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    response = await create(
        api,
        tenant,
        {
            "media_urls": [image(settings, "1000x2000.jpg")],
            "targets": [{"account_id": accounts[Platform.INSTAGRAM].id}],
        },
    )
    assert details(response) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": "instagram: aspect ratio 0.50 (1000\u00d72000); allowed 0.80 to 1.91",
        }
    ]


async def test_an_image_too_narrow_for_instagram_is_refused(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    response = await create(
        api,
        tenant,
        {
            "media_urls": [image(settings, "200x200.jpg")],
            "targets": [{"account_id": accounts[Platform.INSTAGRAM].id}],
        },
    )
    assert details(response) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": "instagram: width 200 px; allowed 320 to 1440 px",
        }
    ]


async def test_a_png_is_refused_where_only_jpeg_is_allowed(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    png = image(settings, "1080x1080.png")
    response = await create(
        api,
        tenant,
        {
            "media_urls": [png],
            "targets": [
                {"account_id": accounts[Platform.INSTAGRAM].id},
                {"account_id": accounts[Platform.FACEBOOK].id},  # takes PNG too
            ],
        },
    )
    assert details(response) == [
        {"loc": ["body", "media_urls", 0], "msg": "instagram: PNG image; allowed JPEG"}
    ]


async def test_an_image_over_the_platforms_byte_cap_is_refused(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    async with httpx.AsyncClient() as http:
        big = image(settings, "1080x1080.png?pad=2000000")
        size = len((await http.get(big)).content)
    assert size > 2_000_000
    response = await create(
        api,
        tenant,
        {
            "media_urls": [big],
            "targets": [
                {"account_id": accounts[Platform.BLUESKY].id},
                {"account_id": accounts[Platform.GOOGLE_BUSINESS].id},  # allows 5,000,000
            ],
        },
    )
    assert details(response) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": f"bluesky: image of {size:,} bytes; allowed at most 2,000,000 bytes",
        }
    ]


async def test_media_that_cannot_be_fetched_is_a_problem_for_every_target_using_it(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    missing = f"{settings.sandbox_url}/samples/nothing-here.jpg"
    response = await create(
        api,
        tenant,
        {
            "media_urls": [missing],
            "targets": [
                {"account_id": accounts[Platform.INSTAGRAM].id},
                {"account_id": accounts[Platform.X].id},
            ],
        },
    )
    assert details(response) == [
        {"loc": ["body", "media_urls", 0], "msg": f"{p}: {missing}: could not be fetched: HTTP 404"}
        for p in ("instagram", "x")
    ]


async def test_bytes_that_are_not_an_image_are_refused(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    fake = f"{settings.sandbox_url}/linkedin/media/photo.jpg"  # a JPEG header and a few bytes
    response = await create(
        api,
        tenant,
        {"media_urls": [fake], "targets": [{"account_id": accounts[Platform.LINKEDIN].id}]},
    )
    assert details(response) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": f"linkedin: {fake}: not a JPEG, PNG, GIF or WebP image",
        }
    ]


async def test_media_that_does_not_answer_in_time_is_refused_without_waiting_it_out(
    settings: Settings,
    db: Database,
    time_skipping_env: WorkflowEnvironment,
    sandbox_http: httpx.AsyncClient,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    quick = settings.model_copy(update={"media_fetch_timeout_seconds": 1.0})
    app = create_app(quick, temporal=time_skipping_env.client)
    fault = {"method": "GET", "path": "/samples/", "delay": 3}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api,
    ):
        url = image(settings, "1080x1080.jpg")
        started = time.monotonic()
        response = await create(
            api,
            tenant,
            {
                "media_urls": [url],
                "targets": [{"account_id": accounts[Platform.FACEBOOK].id}],
            },
        )
        elapsed = time.monotonic() - started
    assert details(response) == [
        {"loc": ["body", "media_urls", 0], "msg": f"facebook: {url}: timed out after 1 s"}
    ]
    assert elapsed < 2.5


async def test_a_valid_image_and_video_reach_every_platform(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    video = f"{settings.sandbox_url}/samples/video/clip.mp4"
    video_only = {Platform.TIKTOK, Platform.YOUTUBE}
    response = await create(
        api,
        tenant,
        {
            "media_urls": [image(settings, "1080x1080.jpg")],
            "targets": [
                {"account_id": a.id, "override_media_urls": [video]}
                if platform in video_only
                else {"account_id": a.id}
                for platform, a in accounts.items()
            ],
        },
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["data"]["targets"]) == len(EXTERNAL_IDS)


async def test_every_targets_media_problems_come_in_one_answer(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    video = f"{settings.sandbox_url}/samples/video/clip.mp4"
    small = image(settings, "200x200.jpg")
    async with httpx.AsyncClient() as http:
        size = len((await http.get(small)).content)
    response = await create(
        api,
        tenant,
        {
            "media_urls": [small],
            "targets": [
                {"account_id": accounts[Platform.INSTAGRAM].id},
                {"account_id": accounts[Platform.GOOGLE_BUSINESS].id},
                {"account_id": accounts[Platform.YOUTUBE].id},
                {"account_id": accounts[Platform.FACEBOOK].id, "override_media_urls": [video]},
                {
                    "account_id": accounts[Platform.X].id,
                    "override_media_urls": [image(settings, "1080x1080.jpg"), video],
                },
            ],
        },
    )
    assert details(response) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": "instagram: width 200 px; allowed 320 to 1440 px",
        },
        {
            "loc": ["body", "media_urls", 0],
            "msg": f"google_business: image of {size:,} bytes; allowed 10,000 to 5,000,000 bytes",
        },
        {
            "loc": ["body", "media_urls", 0],
            "msg": "youtube: a JPEG image; allowed video only",
        },
        {
            "loc": ["body", "targets", 3, "override_media_urls", 0],
            "msg": "facebook: a video (video/mp4); allowed images only",
        },
        {
            "loc": ["body", "targets", 4, "override_media_urls", 1],
            "msg": "x: a video or GIF must be the only media; this has 2",
        },
    ]


async def test_an_edit_checks_new_media_and_leaves_accepted_media_alone(
    api: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    created = await create(
        api,
        tenant,
        {
            "media_urls": [image(settings, "1080x1080.jpg")],
            "targets": [{"account_id": accounts[Platform.INSTAGRAM].id}],
        },
    )
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    headers = {"Authorization": f"Bearer {tenant.api_key}"}

    refused = await api.patch(
        f"/v1/posts/{post['id']}",
        headers=headers,
        json={
            "expected_updated_at": post["updated_at"],
            "media_urls": [image(settings, "1000x2000.jpg")],
        },
    )
    assert details(refused) == [
        {
            "loc": ["body", "media_urls", 0],
            "msg": "instagram: aspect ratio 0.50 (1000\u00d72000); allowed 0.80 to 1.91",
        }
    ]

    # Were the unchanged media fetched again, this fault would refuse the edit.
    fault = {"method": "GET", "path": "/samples/", "status": 404}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    edited = await api.patch(
        f"/v1/posts/{post['id']}",
        headers=headers,
        json={
            "expected_updated_at": post["updated_at"],
            "body": "New words",
            "media_urls": post["media_urls"],
        },
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["body"] == "New words"
    (await sandbox_http.post("/_control/reset")).raise_for_status()  # the unused fault


@asynccontextmanager
async def checker(settings: Settings, **changes: Any) -> AsyncIterator[MediaChecker]:
    """The API's media checker on its own, with some settings changed."""
    changed = settings.model_copy(update=changes)
    fetcher = media_fetcher(changed)
    media = MediaChecker(fetcher, changed)
    try:
        yield media
    finally:
        media.close()
        await fetcher.aclose()


async def test_a_file_over_the_cap_is_refused_naming_the_cap_in_mb(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    url = f"{sandbox.url}/samples/image/1080x1080.png?pad=3000000"
    async with checker(settings, media_fetch_max_bytes=2_000_000) as media:
        facts = await media.read("tenant", [url])
    assert facts == {url: f"{url}: larger than 2 MB"}


async def test_outside_development_media_on_private_addresses_is_refused(
    settings: Settings,
) -> None:
    # A caller must not make crier fetch from inside its own network (here: loopback).
    url = "http://127.0.0.1:9/a.jpg"
    async with checker(settings, media_private_destinations=False) as media:
        facts = await media.read("tenant", [url])
    assert facts == {
        url: f"{url}: refused: 127.0.0.1 is a private, loopback or link-local address "
        "(media must be on a public address)"
    }


async def test_a_url_naming_a_user_is_answered_without_it(settings: Settings) -> None:
    url = "http://someone:secret@127.0.0.1:9/a.jpg"
    async with checker(settings, media_private_destinations=False) as media:
        facts = await media.read("tenant", [url])
    assert "secret" not in str(facts[url])
    assert str(facts[url]).startswith("http://127.0.0.1:9/a.jpg: refused")


async def test_a_video_is_not_downloaded_only_sized(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    url = f"{sandbox.url}/samples/video/clip.mp4"
    async with checker(settings, media_fetch_max_bytes=10) as media:
        facts = await media.read("tenant", [url])
    found = facts[url]
    assert isinstance(found, MediaFacts)
    assert found.kind == "video"  # a 10-byte cap would refuse it had it been read
