"""The reviewer pages' security, over plain HTTP: what the session cookie holds and how it is
marked, CSRF, review links (expired, forged, withdrawn, scoped), tenant isolation, redirects."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from api.ui.auth import LinkClaims, ReviewLinks
from core.config import Settings
from core.db import Database, utcnow
from core.models import ApiKey, Post
from core.status import ApprovalState, Platform
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, make_account, make_post, make_tenant


@pytest.fixture
async def api(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, None) as client:
        yield client


async def sign_in(api: httpx.AsyncClient, key: str) -> httpx.Response:
    return await api.post("/ui/sign-in", data={"api_key": key, "next": "/ui/queue"})


def csrf_of(page: httpx.Response) -> str:
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


async def pending_post(db: Database, settings: Settings, tenant: TenantFixture) -> Post:
    account = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    post, _ = await make_post(db, tenant, account, body="Needs a look")
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None
        row.requires_approval = True
        row.approval_state = ApprovalState.PENDING
        session.add(row)
        await session.commit()
    return post


async def test_the_session_cookie_is_httponly_samesite_scoped_and_holds_no_key(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    answer = await sign_in(api, tenant.api_key)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/queue"
    cookie = answer.headers["set-cookie"]
    assert "crier_session=" in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "path=/ui" in cookie.lower()
    value = cookie.split("crier_session=")[1].split(";")[0]
    payload = value.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert tenant.api_key not in decoded and tenant.api_key_id in decoded
    assert json.loads(decoded)["scopes"]

    # The API never sees the cookie: it is for /ui only, and the API wants its key.
    assert (await api.get("/v1/posts")).status_code == 401


async def test_keys_without_approve_or_unknown_keys_do_not_sign_in(
    api: httpx.AsyncClient, db: Database
) -> None:
    viewer = await make_tenant(db, scopes=("social.view",))
    refused = await sign_in(api, viewer.api_key)
    assert refused.status_code == 403 and "social.approve" in refused.text
    unknown = await sign_in(api, "sk_test_nobody")
    assert unknown.status_code == 401
    assert (await api.get("/ui/queue")).status_code == 303  # still not signed in


async def test_a_form_without_its_csrf_token_changes_nothing(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    await sign_in(api, tenant.api_key)
    for token in ("", "forged"):
        answer = await api.post(f"/ui/posts/{post.id}/reject", data={"csrf": token, "comment": "x"})
        assert answer.status_code == 303
        page = await api.get(answer.headers["location"])
        assert "This form has expired" in page.text
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None and row.approval_state == ApprovalState.PENDING


async def test_another_tenants_post_is_not_found_and_cannot_be_decided(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await make_tenant(db)
    post = await pending_post(db, settings, owner)
    stranger = await make_tenant(db)
    await sign_in(api, stranger.api_key)
    page = await api.get(f"/ui/posts/{post.id}")
    assert page.status_code == 404 and "Needs a look" not in page.text
    queue = await api.get("/ui/queue")
    assert "Needs a look" not in queue.text
    answer = await api.post(
        f"/ui/posts/{post.id}/reject", data={"csrf": csrf_of(queue), "comment": "mine now"}
    )
    assert "no post" in (await api.get(answer.headers["location"])).text
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None and row.approval_state == ApprovalState.PENDING


async def test_review_links_expire_cannot_be_forged_and_die_with_their_key(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    made = await api.post(
        "/v1/review-links",
        json={"reviewer": "Ana", "post_id": post.id, "expires_in_minutes": 30},
        headers=bearer(tenant.api_key),
    )
    assert made.status_code == 201, made.text
    link = made.json()["data"]
    assert link["url"].startswith(f"{settings.public_api_url}/ui/links/")
    path = link["url"].removeprefix(settings.public_api_url)

    opened = await api.get(path)
    assert opened.status_code == 303 and opened.headers["location"] == f"/ui/posts/{post.id}"
    page = await api.get(f"/ui/posts/{post.id}")
    assert "Signed in as Ana (review link)" in page.text
    # A link may decide, not publish: its session lacks social.publish.
    assert "Publish now" not in page.text
    refused = await api.post(f"/ui/posts/{post.id}/cancel", data={"csrf": csrf_of(page)})
    assert "without the social.publish scope" in (await api.get(refused.headers["location"])).text

    forged = await api.get(path[:-3] + "abc")
    assert forged.status_code == 403 and "not valid" in forged.text
    old = ReviewLinks(settings).issue(
        LinkClaims(
            api_key_id=tenant.api_key_id,
            reviewer="Ana",
            post_id=None,
            expires_at=utcnow() - timedelta(seconds=1),
        )
    )
    expired = await api.get(f"/ui/links/{old}")
    assert expired.status_code == 403 and "expired" in expired.text

    # Revoking the key that issued the link ends the link and the session it opened.
    async with db.session() as session:
        key = (await session.exec(select(ApiKey).where(ApiKey.id == tenant.api_key_id))).one()
        key.revoked_at = utcnow()
        session.add(key)
        await session.commit()
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 303
    withdrawn = await api.get(path)
    assert withdrawn.status_code == 403 and "withdrawn" in withdrawn.text


async def test_review_link_requests_are_checked(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    other = await make_tenant(db)
    for body, status in (
        ({"reviewer": ""}, 422),
        ({"reviewer": "Ana", "expires_in_minutes": 60 * 24 * 8}, 422),
        ({"reviewer": "Ana", "post_id": "nope"}, 404),
    ):
        answer = await api.post("/v1/review-links", json=body, headers=bearer(tenant.api_key))
        assert answer.status_code == status, (body, answer.text)
    viewer = await make_tenant(db, scopes=("social.view",))
    denied = await api.post(
        "/v1/review-links", json={"reviewer": "Ana"}, headers=bearer(viewer.api_key)
    )
    assert denied.status_code == 403
    assert other.tenant_id != tenant.tenant_id


async def test_sign_in_never_redirects_off_site(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    for target in ("https://evil.example/", "//evil.example/ui/queue", "/ui//evil.example"):
        answer = await api.post("/ui/sign-in", data={"api_key": tenant.api_key, "next": target})
        assert answer.headers["location"] == "/ui/queue", target


async def test_post_text_is_escaped_on_the_pages(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    post, _ = await make_post(db, tenant, account, body='<script>alert("x")</script>')
    await sign_in(api, tenant.api_key)
    page = await api.get(f"/ui/posts/{post.id}")
    assert page.status_code == 200
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
