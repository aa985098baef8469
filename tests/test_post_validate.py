"""The dry run, `POST /v1/posts/validate`: the create body checked as create checks it, each
target's preview as its platform would receive it, and nothing stored or started. Media are
fetched over real HTTP from the sandbox's samples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select

from core.config import Settings
from core.db import Database
from core.models import IdempotencyRecord, Post, Target, Tenant
from core.status import Platform
from tests.support.api import api_client, bearer
from tests.support.api_fixtures import tenant_fixture
from tests.support.factories import TenantFixture, add_key, make_account, make_tenant

tenant = tenant_fixture()

# 23 weighted characters for any URL on X, however long (docs/platforms.md §5).
LONG_URL = "https://example.com/" + "a" * 100
EXTERNAL_IDS = {
    Platform.X: "1500000000000000001",
    Platform.LINKEDIN: "urn:li:organization:1001",
    Platform.BLUESKY: "did:plc:validate000000000000000",
    Platform.THREADS: "27000000000000001",
    Platform.INSTAGRAM: "17841400000000001",
    Platform.TIKTOK: "tiktok-open-id-validate",
}


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    # No Temporal client at all: a dry run that tried to start a workflow would fail.
    async with api_client(settings, None) as client:
        yield client


@pytest.fixture
async def accounts(db: Database, settings: Settings, tenant: TenantFixture) -> dict[str, str]:
    return {
        platform.value: (await make_account(db, settings, tenant, platform, external)).id
        for platform, external in EXTERNAL_IDS.items()
    }


def image(settings: Settings, name: str) -> str:
    return f"{settings.sandbox_url}/samples/image/{name}"


async def rows(db: Database, tenant_id: str) -> tuple[int, int, int]:
    async with db.session() as session:
        counts = []
        for table in (Post, Target, IdempotencyRecord):
            query = select(func.count()).select_from(table).where(col(table.tenant_id) == tenant_id)
            counts.append((await session.exec(query)).one())
        return counts[0], counts[1], counts[2]


async def validate(
    api: httpx.AsyncClient, tenant: TenantFixture, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await api.post("/v1/posts/validate", json=body, headers=bearer(tenant.api_key))
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


async def test_each_target_gets_its_problems_and_what_its_platform_would_receive(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[str, str],
) -> None:
    text = f"Launch (today) #news {LONG_URL}"
    body = {
        "body": text,
        "link": "https://shop.example/launch",
        "media_urls": [image(settings, "200x200.jpg")],
        "targets": [
            {"account_id": accounts["x"], "override_body": "x" * 270 + " " + LONG_URL},
            {
                "account_id": accounts["linkedin"],
                "override_media_urls": [],
                "options": {"title": "Our launch"},
            },
            {
                "account_id": accounts["bluesky"],
                "override_body": "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
                "options": {"langs": ["en"], "rkey": "nope"},
            },
            {"account_id": accounts["threads"], "override_body": "", "override_media_urls": []},
            {"account_id": accounts["instagram"]},
            {"account_id": "no-such-account"},
        ],
    }
    before = await rows(db, tenant.tenant_id)
    checked = await validate(api, tenant, body)
    assert await rows(db, tenant.tenant_id) == before == (0, 0, 0)
    assert checked["valid"] is False
    assert checked["problems"] == []
    x, linkedin, bluesky, threads, instagram, missing = checked["targets"]

    # X: a URL weighs 23, so 270 + 1 + 23 = 294 weighted characters of 280.
    assert x["preview"]["length"] == {"count": 294, "max": 280, "unit": "weighted characters"}
    assert x["problems"] == [
        {
            "loc": ["body", "targets", 0, "override_body"],
            "msg": "294 weighted characters; x allows at most 280",
        }
    ]
    assert x["preview"]["media_urls"] == [image(settings, "200x200.jpg")]

    # LinkedIn: little text escapes its reserved characters; the link is an article.
    assert linkedin["problems"] == []
    assert linkedin["preview"]["text"] == f"Launch \\(today\\) \\#news {LONG_URL}"
    assert linkedin["preview"]["title"] == "Our launch"
    assert linkedin["preview"]["link"] == "https://shop.example/launch"
    assert linkedin["preview"]["media_urls"] == []

    # Bluesky counts graphemes: the family emoji is one.
    assert bluesky["preview"]["length"]["count"] == len(" family") + 1
    assert bluesky["preview"]["options"] == {"langs": ["en"], "rkey": "nope"}
    assert bluesky["problems"] == [
        {
            "loc": ["body", "targets", 2, "options", "rkey"],
            "msg": "must be a TID: 13 characters of 2-7 and a-z, such as 3jzfcijpj2z2a",
        }
    ]

    # Threads with neither text nor media sends its link as the text.
    assert threads["problems"] == []
    assert threads["preview"]["text"] == "https://shop.example/launch"

    # Instagram: the fetched image is too narrow, named at the post's media.
    assert instagram["problems"] == [
        {"loc": ["body", "media_urls", 0], "msg": "instagram: width 200 px; allowed 320 to 1440 px"}
    ]
    assert instagram["preview"]["text"] == text

    assert missing == {
        "account_id": "no-such-account",
        "platform": None,
        "problems": [{"loc": ["body", "targets", 5, "account_id"], "msg": "no such account"}],
        "preview": None,
    }


async def test_the_dry_run_names_exactly_what_create_refuses(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[str, str],
) -> None:
    body = {
        "body": "x" * 301,
        "media_urls": [image(settings, "200x200.jpg")],
        "targets": [
            {"account_id": accounts["bluesky"], "options": {"colour": "red"}},
            {"account_id": accounts["instagram"]},
            {"account_id": accounts["tiktok"], "options": {"privacy_level": "ALL"}},
        ],
    }
    checked = await validate(api, tenant, body)
    named = [p for target in checked["targets"] for p in target["problems"]]
    created = await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))
    assert created.status_code == 422, created.text
    # Create names what needs no bytes first, then (had that passed) the media.
    refused = created.json()["error"]["details"]
    assert refused == [p for p in named if p["loc"][:2] != ["body", "media_urls"]]
    assert {
        "loc": ["body", "media_urls", 0],
        "msg": "tiktok: a JPEG image; allowed video only",
    } in named
    assert await rows(db, tenant.tenant_id) == (0, 0, 0)


async def test_a_body_with_no_problem_is_valid_and_create_accepts_it(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[str, str],
) -> None:
    body = {
        "body": "All good",
        "media_urls": [image(settings, "1080x1080.jpg")],
        "targets": [
            {"account_id": accounts["x"]},
            {"account_id": accounts["instagram"]},
            {"account_id": accounts["bluesky"], "options": {"alt_texts": ["a square"]}},
        ],
    }
    checked = await validate(api, tenant, body)
    assert checked["valid"] is True, checked
    assert [t["problems"] for t in checked["targets"]] == [[], [], []]
    assert await rows(db, tenant.tenant_id) == (0, 0, 0)
    created = await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))
    assert created.status_code == 201, created.text


async def test_the_posts_own_problems_and_a_malformed_body(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, accounts: dict[str, str]
) -> None:
    async with db.session() as session:
        row = await session.get(Tenant, tenant.tenant_id)
        assert row is not None
        row.requires_approval = True
        session.add(row)
        await session.commit()
    body = {"body": "hi", "requires_approval": False, "targets": [{"account_id": accounts["x"]}]}
    checked = await validate(api, tenant, body)
    assert checked["valid"] is False
    assert checked["problems"] == [
        {
            "loc": ["body", "requires_approval"],
            "msg": "the tenant requires approval; leave it out or send true",
        }
    ]
    # Not a create body: a 422, as create answers.
    for malformed in ({"body": "hi"}, {"body": "hi", "targets": [{"account_id": "a", "x": 1}]}):
        answer = await api.post(
            "/v1/posts/validate", json=malformed, headers=bearer(tenant.api_key)
        )
        assert answer.status_code == 422, answer.text


async def test_another_tenants_or_modes_account_is_a_problem_not_a_preview(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    accounts: dict[str, str],
) -> None:
    stranger = await make_tenant(db)
    body = {"body": "hi", "targets": [{"account_id": accounts["x"]}]}
    [target] = (await validate(api, stranger, body))["targets"]
    assert target["problems"] == [
        {"loc": ["body", "targets", 0, "account_id"], "msg": "no such account"}
    ]
    assert target["preview"] is None
    # The same tenant's account in the other mode: the sandbox key may not post there.
    live_account = await make_account(
        db, settings, tenant, Platform.X, "1500000000000000009", sandbox=False
    )
    body = {"body": "hi", "targets": [{"account_id": live_account.id}]}
    [target] = (await validate(api, tenant, body))["targets"]
    assert target["problems"] == [
        {
            "loc": ["body", "targets", 0, "account_id"],
            "msg": "a sandbox key cannot post to this account",
        }
    ]
    assert target["preview"] is None
    # A live key of the same tenant sees the sandbox accounts as none of its own either.
    live = await add_key(db, tenant, test=False)
    body = {"body": "hi", "targets": [{"account_id": accounts["x"]}]}
    [target] = (await validate(api, live, body))["targets"]
    assert target["problems"][0]["msg"] == "a live key cannot post to this account"
