"""Media checked against each platform's rules at create and edit time, fetched over real HTTP
from the sandbox's sample images."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.media_facts import MediaChecker, MediaFacts
from core.config import Settings
from core.db import Database
from core.guarded_fetch import media_fetcher
from core.models import Account
from core.status import Platform
from tests.support.api import api_client, bearer
from tests.support.api_fixtures import api_fixture, tenant_fixture
from tests.support.factories import TenantFixture, make_account
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

OUTSIDE_INSTAGRAMS_ASPECT_RATIO = (
    "instagram: aspect ratio 0.50 (1000\u00d72000); allowed 0.80 to 1.91"
)
TOO_NARROW_FOR_INSTAGRAM = "instagram: width 200 px; allowed 320 to 1440 px"


api = api_fixture()
tenant = tenant_fixture()


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
        "/v1/posts", headers=bearer(tenant.api_key), json={"body": "Media day", **body}
    )


def details(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    found: list[dict[str, Any]] = response.json()["error"]["details"]
    return found


async def refusals(
    api: httpx.AsyncClient, tenant: TenantFixture, url: str, *targets: Account
) -> list[dict[str, Any]]:
    """The details of a post with one media URL for these accounts, which must be refused."""
    body = {"media_urls": [url], "targets": [{"account_id": a.id} for a in targets]}
    return details(await create(api, tenant, body))


def of_the_first_media(*messages: str) -> list[dict[str, Any]]:
    return [{"loc": ["body", "media_urls", 0], "msg": message} for message in messages]


@pytest.mark.parametrize(
    ("path", "platforms", "problems"),
    [
        pytest.param(
            "samples/image/1000x2000.jpg",
            [Platform.INSTAGRAM],
            [OUTSIDE_INSTAGRAMS_ASPECT_RATIO],
            id="an-image-outside-instagrams-aspect-ratio",
        ),
        pytest.param(
            "samples/image/200x200.jpg",
            [Platform.INSTAGRAM],
            [TOO_NARROW_FOR_INSTAGRAM],
            id="an-image-too-narrow-for-instagram",
        ),
        pytest.param(
            "samples/image/1080x1080.png",
            [Platform.INSTAGRAM, Platform.FACEBOOK],  # Facebook takes PNG too
            ["instagram: PNG image; allowed JPEG"],
            id="a-png-where-only-jpeg-is-allowed",
        ),
        pytest.param(
            "samples/nothing-here.jpg",
            [Platform.INSTAGRAM, Platform.X],
            [f"{p}: {{url}}: could not be fetched: HTTP 404" for p in ("instagram", "x")],
            id="media-that-cannot-be-fetched-for-every-target-using-it",
        ),
        pytest.param(
            "linkedin/media/photo.jpg",  # a JPEG header and a few bytes
            [Platform.LINKEDIN],
            ["linkedin: {url}: not a JPEG, PNG, GIF or WebP image"],
            id="bytes-that-are-not-an-image",
        ),
    ],
)
async def test_media_a_platform_cannot_take_is_refused(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
    path: str,
    platforms: list[Platform],
    problems: list[str],
) -> None:
    url = f"{settings.sandbox_url}/{path}"
    refused = await refusals(api, tenant, url, *(accounts[p] for p in platforms))
    assert refused == of_the_first_media(*(problem.format(url=url) for problem in problems))


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
    refused = await refusals(
        api,
        tenant,
        big,
        accounts[Platform.BLUESKY],
        accounts[Platform.GOOGLE_BUSINESS],  # allows 5,000,000
    )
    assert refused == of_the_first_media(
        f"bluesky: image of {size:,} bytes; allowed at most 2,000,000 bytes"
    )


async def test_media_that_does_not_answer_in_time_is_refused_without_waiting_it_out(
    settings: Settings,
    db: Database,
    time_skipping_env: WorkflowEnvironment,
    sandbox_http: httpx.AsyncClient,
    tenant: TenantFixture,
    accounts: dict[Platform, Account],
) -> None:
    quick = settings.model_copy(update={"media_fetch_timeout_seconds": 1.0})
    # The host would answer after 30 s: the refusal must come without waiting that out.
    fault = {"method": "GET", "path": "/samples/", "delay": 30}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    async with api_client(quick, time_skipping_env.client) as api:
        url = image(settings, "1080x1080.jpg")
        started = time.monotonic()
        refused = await refusals(api, tenant, url, accounts[Platform.FACEBOOK])
        elapsed = time.monotonic() - started
    assert refused == of_the_first_media(f"facebook: {url}: timed out after 1 s")
    assert elapsed < 30


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
                {
                    "account_id": accounts[Platform.FACEBOOK].id,
                    "override_media_urls": [small, video],
                },
                {
                    "account_id": accounts[Platform.X].id,
                    "override_media_urls": [image(settings, "1080x1080.jpg"), video],
                },
            ],
        },
    )
    assert details(response) == [
        *of_the_first_media(
            TOO_NARROW_FOR_INSTAGRAM,
            f"google_business: image of {size:,} bytes; allowed 10,000 to 5,000,000 bytes",
            "youtube: a JPEG image; allowed video only",
        ),
        {
            "loc": ["body", "targets", 3, "override_media_urls", 1],
            "msg": "facebook: a video must be the only media; this has 2",
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
    headers = bearer(tenant.api_key)

    refused = await api.patch(
        f"/v1/posts/{post['id']}",
        headers=headers,
        json={
            "expected_updated_at": post["updated_at"],
            "media_urls": [image(settings, "1000x2000.jpg")],
        },
    )
    assert details(refused) == of_the_first_media(OUTSIDE_INSTAGRAMS_ASPECT_RATIO)

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


async def read_one(settings: Settings, url: str, **changes: Any) -> MediaFacts | str:
    """The API's media checker on its own, with some settings changed, reading one URL."""
    changed = settings.model_copy(update=changes)
    fetcher = media_fetcher(changed)
    media = MediaChecker(fetcher, changed)
    try:
        return (await media.read("tenant", [url]))[url]
    finally:
        media.close()
        await fetcher.aclose()


async def test_a_file_over_the_cap_is_refused_naming_the_cap_in_mb(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    url = f"{sandbox.url}/samples/image/1080x1080.png?pad=3000000"
    found = await read_one(settings, url, media_fetch_max_bytes=2_000_000)
    assert found == f"{url}: larger than 2 MB"


async def test_outside_development_media_on_private_addresses_is_refused(
    settings: Settings,
) -> None:
    # A caller must not make crier fetch from inside its own network (here: loopback).
    url = "http://127.0.0.1:9/a.jpg"
    found = await read_one(settings, url, media_private_destinations=False)
    assert found == (
        f"{url}: refused: 127.0.0.1 is a private, loopback or link-local address "
        "(media must be on a public address)"
    )


async def test_a_url_naming_a_user_is_answered_without_it(settings: Settings) -> None:
    url = "http://someone:secret@127.0.0.1:9/a.jpg"
    found = await read_one(settings, url, media_private_destinations=False)
    assert "secret" not in str(found)
    assert str(found).startswith("http://127.0.0.1:9/a.jpg: refused")


async def test_a_video_is_not_downloaded_only_sized(
    sandbox: RunningSandbox, settings: Settings
) -> None:
    url = f"{sandbox.url}/samples/video/clip.mp4"
    found = await read_one(settings, url, media_fetch_max_bytes=10)
    assert isinstance(found, MediaFacts)
    assert found.kind == "video"  # a 10-byte cap would refuse it had it been read
