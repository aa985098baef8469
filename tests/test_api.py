"""The HTTP API over ASGI, with a real database and the time-skipping Temporal server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.models import Account
from core.status import Platform
from tests.support.api import bearer
from tests.support.api_fixtures import api_fixture, tenant_fixture
from tests.support.factories import TenantFixture, make_account, make_facebook_page, make_tenant

pytestmark = pytest.mark.asyncio


api = api_fixture()
tenant = tenant_fixture()


@pytest.fixture
async def page(db: Database, settings: Settings, tenant: TenantFixture) -> Account:
    return await make_facebook_page(db, settings, tenant)


@pytest.fixture
def image(settings: Settings) -> str:
    """A square JPEG the sandbox serves, which every platform here takes."""
    return f"{settings.sandbox_url}/samples/image/1080x1080.jpg"


@pytest.fixture
async def x_account(db: Database, settings: Settings, tenant: TenantFixture) -> Account:
    return await make_account(db, settings, tenant, Platform.X, "4242")


def auth(tenant: TenantFixture) -> dict[str, str]:
    return bearer(tenant.api_key)


async def create_post(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account, **extra: object
) -> dict[str, Any]:
    body = {"body": "Launch day", "targets": [{"account_id": page.id}], **extra}
    response = await api.post("/v1/posts", json=body, headers=auth(tenant))
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()["data"]
    return post


async def test_requests_without_a_valid_key_are_refused(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/accounts")
    wrong = await api.get("/v1/accounts", headers={"Authorization": "Bearer sk_test_nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["error"]["code"] == "unauthenticated"


async def test_a_key_without_the_scope_is_forbidden(api: httpx.AsyncClient, db: Database) -> None:
    viewer = await make_tenant(db, scopes=("social.view",))
    response = await api.post("/v1/posts", json={"targets": []}, headers=auth(viewer))
    assert response.status_code == 403
    assert "social.manage" in response.json()["error"]["message"]


async def test_accounts_lists_the_keys_own_mode_only(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture, page: Account
) -> None:
    await make_facebook_page(db, settings, tenant, page_id="999", sandbox=False)
    response = await api.get("/v1/accounts", headers=auth(tenant))
    assert response.status_code == 200
    accounts = response.json()["data"]
    assert [a["id"] for a in accounts] == [page.id]
    assert "access_token" not in response.text and "sbx_" not in response.text


async def test_a_created_post_is_a_draft_with_one_target_per_account(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account, image: str
) -> None:
    post = await create_post(api, tenant, page, media_urls=[image])
    assert post["status"] == "draft"
    assert post["media_urls"] == [image]
    [target] = post["targets"]
    assert target["account_id"] == page.id
    assert target["platform"] == "facebook"
    assert target["status"] == "draft"

    fetched = await api.get(f"/v1/posts/{post['id']}", headers=auth(tenant))
    assert fetched.json()["data"]["id"] == post["id"]


async def test_every_problem_in_a_bad_post_is_named(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account
) -> None:
    response = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={
            "body": "x" * 63_207,
            "media_urls": ["not a url"],
            "targets": [{"account_id": page.id}, {"account_id": "missing"}],
        },
    )
    assert response.status_code == 422
    locs = [tuple(d["loc"]) for d in response.json()["error"]["details"]]
    assert ("body", "media_urls", 0) in locs

    # Once the shape is right, the accounts and the platform's rules are checked, all at once.
    response = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={
            "body": "x" * 63_207,
            "targets": [
                {"account_id": page.id},
                {"account_id": "missing"},
                {"account_id": page.id},
            ],
        },
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert {"loc": ["body", "targets", 0, "body"], "msg": details[0]["msg"]} == details[0]
    assert "63207 characters; facebook allows at most 63206" in details[0]["msg"]
    assert details[1] == {"loc": ["body", "targets", 1, "account_id"], "msg": "no such account"}
    assert details[2]["loc"] == ["body", "targets", 2, "account_id"]
    assert "already a target" in details[2]["msg"]


async def test_an_empty_post_is_refused(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account
) -> None:
    response = await api.post(
        "/v1/posts", headers=auth(tenant), json={"targets": [{"account_id": page.id}]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["msg"] == "a post needs text, media or a link"


async def test_a_sandbox_key_cannot_post_to_a_live_account(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    live = await make_facebook_page(db, settings, tenant, page_id="777", sandbox=False)
    response = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={"body": "hi", "targets": [{"account_id": live.id}]},
    )
    assert response.status_code == 422
    assert "a sandbox key cannot post" in response.json()["error"]["details"][0]["msg"]


@pytest.mark.parametrize(
    "when",
    ["2030-01-01T09:00:00", "2030-01-01 09:00", "tomorrow", "1999-01-01T09:00:00Z"],
)
async def test_a_schedule_without_an_offset_or_in_the_past_is_refused(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account, when: str
) -> None:
    post = await create_post(api, tenant, page)
    response = await api.post(
        f"/v1/posts/{post['id']}/publish", headers=auth(tenant), json={"scheduled_for": when}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "scheduled_for"]
    targets = await api.get(f"/v1/posts/{post['id']}/targets", headers=auth(tenant))
    assert targets.json()["data"][0]["status"] == "draft"  # nothing was scheduled


async def test_an_unknown_post_is_404_and_another_tenants_post_too(
    api: httpx.AsyncClient, db: Database, tenant: TenantFixture, page: Account
) -> None:
    post = await create_post(api, tenant, page)
    stranger = await make_tenant(db)
    for headers, path in (
        (auth(tenant), "/v1/posts/nope"),
        (auth(stranger), f"/v1/posts/{post['id']}"),
    ):
        response = await api.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_a_scheduled_time_is_stored_and_returned_in_utc(
    api: httpx.AsyncClient,
    tenant: TenantFixture,
    page: Account,
    time_skipping_env: WorkflowEnvironment,
) -> None:
    post = await create_post(api, tenant, page)
    due = datetime.now(UTC) + timedelta(days=3)
    local = due.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()
    response = await api.post(
        f"/v1/posts/{post['id']}/publish", headers=auth(tenant), json={"scheduled_for": local}
    )
    assert response.status_code == 202, response.text
    [target] = response.json()["data"]["targets"]
    assert target["status"] == "scheduled"
    assert target["scheduled_for"].endswith("Z")
    assert datetime.fromisoformat(target["scheduled_for"]) == due.replace(
        microsecond=due.microsecond
    )
    assert target["workflow_id"] == f"target-{target['id']}"

    again = await api.post(
        f"/v1/posts/{post['id']}/publish", headers=auth(tenant), json={"scheduled_for": local}
    )
    assert again.status_code == 409
    assert "use /reschedule" in again.json()["error"]["message"]


async def test_publish_now_through_the_api_reaches_the_sandbox(
    api: httpx.AsyncClient,
    tenant: TenantFixture,
    page: Account,
    settings: Settings,
    time_skipping_env: WorkflowEnvironment,
    sandbox_http: httpx.AsyncClient,
) -> None:
    post = await create_post(api, tenant, page)
    async with worker_for(time_skipping_env.client, settings) as worker, worker:
        response = await api.post(f"/v1/posts/{post['id']}/publish", headers=auth(tenant), json={})
        assert response.status_code == 202
        [target] = response.json()["data"]["targets"]
        handle = time_skipping_env.client.get_workflow_handle(target["workflow_id"])
        await handle.result()

    targets = (await api.get(f"/v1/posts/{post['id']}/targets", headers=auth(tenant))).json()
    [published] = targets["data"]
    assert published["status"] == "published"
    posts = (await sandbox_http.get("/_control/posts")).json()["data"]
    assert [p["id"] for p in posts] == [published["external_id"]]
    assert published["url"] == posts[0]["url"]


async def test_a_huge_offset_is_a_422_not_a_500(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    # Found by the property test: an offset past 64 bits overflowed the database driver.
    answer = await api.get("/v1/posts", params={"offset": 2**70}, headers=auth(tenant))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["loc"] == ["query", "offset"]


NUL_REFUSED = "text may not contain the NUL character (U+0000)"
NUL_REQUESTS = ["account id", "body", "path", "search"]


@pytest.mark.parametrize("where", NUL_REQUESTS)
async def test_a_nul_character_is_refused_by_name(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account, where: str
) -> None:
    # Found by the property test on PostgreSQL, whose text cannot hold U+0000: a 500 then.
    # The answer must not depend on the database: the same 422, naming the character.
    headers = auth(tenant)
    if where == "account id":
        body = {"body": "x", "targets": [{"account_id": "\x00"}]}
        answer = await api.post("/v1/posts", json=body, headers=headers)
    elif where == "body":
        body = {"body": "a\x00b", "targets": [{"account_id": page.id}]}
        answer = await api.post("/v1/posts", json=body, headers=headers)
    elif where == "path":
        answer = await api.get("/v1/posts/%00", headers=headers)
    else:
        answer = await api.get("/v1/posts", params={"search": "\x00"}, headers=headers)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert [d["msg"] for d in error["details"]] == [NUL_REFUSED]


# Media with alt text -------------------------------------------------------------------------


async def test_media_objects_keep_their_alt_text_beside_the_plain_urls(
    api: httpx.AsyncClient,
    settings: Settings,
    tenant: TenantFixture,
    page: Account,
    image: str,
    x_account: Account,
) -> None:
    square = f"{settings.sandbox_url}/samples/image/1200x1200.jpg"
    post = await create_post(
        api,
        tenant,
        page,
        media=[{"url": image, "alt": "A launch banner"}, {"url": square}],
        targets=[
            {"account_id": page.id},
            {"account_id": x_account.id, "override_media": [{"url": square, "alt": "Square crop"}]},
        ],
    )

    assert post["media_urls"] == [image, square]
    assert post["media"] == [{"url": image, "alt": "A launch banner"}, {"url": square, "alt": None}]
    facebook, on_x = post["targets"]
    assert (facebook["override_media_urls"], facebook["override_media"]) == (None, None)
    assert on_x["override_media_urls"] == [square]
    assert on_x["override_media"] == [{"url": square, "alt": "Square crop"}]
    fetched = (await api.get(f"/v1/posts/{post['id']}", headers=auth(tenant))).json()["data"]
    assert (fetched["media"], fetched["targets"][1]["override_media"]) == (
        post["media"],
        on_x["override_media"],
    )

    # The plain form still works, and answers media objects without alt text.
    plain = await create_post(api, tenant, page, media_urls=[image])
    assert plain["media"] == [{"url": image, "alt": None}]


async def test_both_media_forms_at_once_are_refused_naming_them(
    api: httpx.AsyncClient, tenant: TenantFixture, page: Account, image: str
) -> None:
    response = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={
            "media_urls": [image],
            "media": [{"url": image, "alt": "x"}],
            "targets": [
                {
                    "account_id": page.id,
                    "override_media_urls": [image],
                    "override_media": [{"url": image}],
                }
            ],
        },
    )

    assert response.status_code == 422
    messages = " | ".join(d["msg"] for d in response.json()["error"]["details"])
    assert "media or media_urls, not both" in messages
    assert "override_media or override_media_urls, not both" in messages


async def test_alt_text_too_long_for_a_platform_is_refused_naming_each(
    api: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    tenant: TenantFixture,
    page: Account,
    image: str,
    x_account: Account,
) -> None:
    pinterest = await make_account(db, settings, tenant, Platform.PINTEREST, "549755885175")
    response = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={
            "body": "Described",
            "media": [{"url": image, "alt": "a" * 1001}],
            "targets": [
                {"account_id": page.id},  # Facebook states no limit: fine
                {"account_id": x_account.id},
                {"account_id": pinterest.id, "override_media": [{"url": image, "alt": "b" * 501}]},
            ],
        },
    )

    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert {(tuple(d["loc"]), d["msg"]) for d in details} == {
        (("body", "media", 0, "alt"), "x takes alt text of at most 1000 characters"),
        (
            ("body", "targets", 2, "override_media", 0, "alt"),
            "pinterest takes alt text of at most 500 characters",
        ),
    }
    over_every_limit = await api.post(
        "/v1/posts",
        headers=auth(tenant),
        json={"media": [{"url": image, "alt": "c" * 2001}], "targets": [{"account_id": page.id}]},
    )
    assert over_every_limit.status_code == 422
    assert over_every_limit.json()["error"]["details"][0]["loc"] == ["body", "media", 0, "alt"]


async def test_an_edit_replaces_media_with_or_without_alt_text(
    api: httpx.AsyncClient,
    tenant: TenantFixture,
    page: Account,
    image: str,
    x_account: Account,
) -> None:
    post = await create_post(api, tenant, page, media=[{"url": image, "alt": "Before"}])

    async def edit(**change: object) -> dict[str, Any]:
        seen = (await api.get(f"/v1/posts/{post['id']}", headers=auth(tenant))).json()["data"]
        response = await api.patch(
            f"/v1/posts/{post['id']}",
            headers=auth(tenant),
            json={"expected_updated_at": seen["updated_at"], **change},
        )
        assert response.status_code == 200, response.text
        edited: dict[str, Any] = response.json()["data"]
        return edited

    assert (await edit(body="New words"))["media"] == [{"url": image, "alt": "Before"}]
    assert (await edit(media=[{"url": image, "alt": "After"}]))["media"] == [
        {"url": image, "alt": "After"}
    ]
    assert (await edit(media_urls=[image]))["media"] == [{"url": image, "alt": None}]

    on_x = await create_post(api, tenant, x_account, media_urls=[image])
    seen = (await api.get(f"/v1/posts/{on_x['id']}", headers=auth(tenant))).json()["data"]
    refused = await api.patch(
        f"/v1/posts/{on_x['id']}",
        headers=auth(tenant),
        json={
            "expected_updated_at": seen["updated_at"],
            "media": [{"url": image, "alt": "d" * 1001}],
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["msg"] == (
        "x takes alt text of at most 1000 characters"
    )
