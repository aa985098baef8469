"""Review links hold their scope: a post link opens and decides that post only; a queue link is
asked for as one; links are stored hashed, listed, revoked, optionally single-use, and their
token never reaches an access log."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.ui.auth import claim_link
from core.config import Settings
from core.db import Database, utcnow
from core.models import ApiKey, PageSession, Post, ReviewLink
from core.status import ApprovalState
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, add_key, make_tenant
from tests.support.servers import free_port
from tests.test_review_pages_http import (
    SESSION_COOKIE,
    csrf_of,
    open_link,
    pending_post,
    version_of,
)


@pytest.fixture
async def api(
    settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings, time_skipping_env.client) as client:
        yield client


@pytest.fixture
async def browser(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: its own cookies, the same database."""
    async with api_client(settings, None) as client:
        yield client


async def issue(api: httpx.AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    made = await api.post("/v1/review-links", json={"reviewer": "Ana", **body}, headers=bearer(key))
    assert made.status_code == 201, made.text
    link: dict[str, Any] = made.json()["data"]
    return link


async def listed(api: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    answer = await api.get("/v1/review-links", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["data"]
    return rows


def path_of(link: dict[str, Any], settings: Settings) -> str:
    path: str = link["url"].removeprefix(settings.public_api_url)
    return path


async def test_a_link_must_say_what_it_is_for(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    for body, status, words in (
        ({}, 422, "or ask for the whole review queue with scope 'queue'"),
        ({"scope": "post"}, 422, "name the post the link is for"),
        ({"scope": "queue", "post_id": post.id}, 422, "a queue link opens no one post"),
        ({"scope": "everything", "post_id": post.id}, 422, "scope"),
        ({"post_id": "nope"}, 404, "no post nope"),
    ):
        answer = await api.post(
            "/v1/review-links", json={"reviewer": "Ana", **body}, headers=bearer(tenant.api_key)
        )
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.text, (body, answer.text)
    # Another tenant's post, and the same tenant's post seen with its live key: not found.
    stranger = await make_tenant(db)
    live = (await add_key(db, tenant, test=False)).api_key
    for key in (stranger.api_key, live):
        answer = await api.post(
            "/v1/review-links", json={"reviewer": "Ana", "post_id": post.id}, headers=bearer(key)
        )
        assert answer.status_code == 404, answer.text
    viewer = await make_tenant(db, scopes=("social.view",))
    denied = await api.post(
        "/v1/review-links",
        json={"reviewer": "Ana", "scope": "queue"},
        headers=bearer(viewer.api_key),
    )
    assert denied.status_code == 403
    # Both kinds, each asked for by name.
    assert (await issue(api, tenant.api_key, post_id=post.id))["scope"] == "post"
    queue = await issue(api, tenant.api_key, scope="queue")
    assert queue["scope"] == "queue" and queue["post_id"] is None


async def test_links_last_a_day_by_default_and_three_days_at_most(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    before = utcnow()
    link = await issue(api, tenant.api_key, scope="queue")
    expires = datetime.fromisoformat(link["expires_at"])
    assert before + timedelta(hours=24) - timedelta(seconds=2) <= expires
    assert expires <= utcnow() + timedelta(hours=24)
    longest = await issue(api, tenant.api_key, scope="queue", expires_in_minutes=72 * 60)
    assert datetime.fromisoformat(longest["expires_at"]) <= utcnow() + timedelta(hours=72)
    too_long = await api.post(
        "/v1/review-links",
        json={"reviewer": "Ana", "scope": "queue", "expires_in_minutes": 72 * 60 + 1},
        headers=bearer(tenant.api_key),
    )
    assert too_long.status_code == 422 and "expires_in_minutes" in too_long.text


async def test_links_are_stored_hashed_and_listed_without_their_token_per_tenant_and_mode(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    link = await issue(api, tenant.api_key, post_id=post.id, single_use=True)
    token = path_of(link, settings).removeprefix("/ui/links/")
    assert link["single_use"] is True and link["status"] == "active"
    async with db.session() as session:
        row = await session.get(ReviewLink, link["id"])
    assert row is not None and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.model_dump())

    answer = await api.get("/v1/review-links", headers=bearer(tenant.api_key))
    assert token not in answer.text and "url" not in answer.json()["data"][0]
    assert [r["id"] for r in answer.json()["data"]] == [link["id"]]
    # The same tenant's live key, and another tenant: none of these links.
    assert await listed(api, (await add_key(db, tenant, test=False)).api_key) == []
    assert await listed(api, (await make_tenant(db)).api_key) == []
    # A view key may list (no token is ever listed), and filter by post.
    viewer = (await add_key(db, tenant, test=True)).api_key
    by_post = await api.get("/v1/review-links", params={"post_id": post.id}, headers=bearer(viewer))
    assert [r["id"] for r in by_post.json()["data"]] == [link["id"]]


async def test_a_link_signs_in_only_when_its_button_is_pressed(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    link = await issue(api, tenant.api_key, post_id=post.id, single_use=True)
    path = path_of(link, settings)

    # A link preview or mail scanner fetches the link: nothing happens.
    for _ in range(3):
        page = await api.get(path)
        assert page.status_code == 200 and "Open the review" in page.text
        assert 'method="post"' in page.text and SESSION_COOKIE not in page.cookies
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 303
    async with db.session() as session:
        assert (await session.exec(select(PageSession))).all() == []
        row = await session.get(ReviewLink, link["id"])
        assert row is not None and row.used_at is None

    # A POST without the page's token (a form on another site) is refused.
    forged = await api.post(path, data={"csrf": "guessed"})
    assert forged.status_code == 403 and "sent from another site" in forged.text
    opened = await api.post(path, data={"csrf": csrf_of(page)})
    assert opened.status_code == 303 and opened.headers["location"] == f"/ui/posts/{post.id}"
    assert "Signed in as Ana (review link)" in (await api.get(f"/ui/posts/{post.id}")).text


async def test_a_single_use_link_opens_once(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    link = await issue(api, tenant.api_key, post_id=post.id, single_use=True)
    page = await browser.get(path_of(link, settings))  # a second browser has the page open
    assert (await open_link(api, link["url"], settings)).status_code == 303
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 200

    again = await browser.get(path_of(link, settings))
    assert again.status_code == 403 and "already used" in again.text
    late = await browser.post(path_of(link, settings), data={"csrf": csrf_of(page)})
    assert late.status_code == 403 and "already used" in late.text
    assert (await browser.get(f"/ui/posts/{post.id}")).status_code == 303
    assert [r["status"] for r in await listed(api, tenant.api_key)] == ["used"]

    # A link that is not single-use opens as often as it is asked to.
    many = await issue(api, tenant.api_key, post_id=post.id)
    for client in (api, browser):
        assert (await open_link(client, many["url"], settings)).status_code == 303


async def test_of_two_browsers_racing_with_a_single_use_link_one_gets_in(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    link = await issue(api, tenant.api_key, scope="queue", single_use=True)
    # Both read the link before either claims it: both see it unused.
    async with db.session() as first, db.session() as second:
        seen_first = await first.get(ReviewLink, link["id"])
        seen_second = await second.get(ReviewLink, link["id"])
        assert seen_first is not None and seen_second is not None
        assert seen_first.used_at is None and seen_second.used_at is None
        assert await claim_link(first, seen_first, utcnow()) is True
        assert await claim_link(second, seen_second, utcnow()) is False


async def test_a_post_link_opens_and_decides_that_post_only(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    mine = await pending_post(db, settings, tenant, body="Client A's launch")
    theirs = await pending_post(db, settings, tenant, body="Client B's secret campaign")
    link = await issue(api, tenant.api_key, post_id=mine.id)
    await open_link(api, link["url"], settings)

    page = await api.get(f"/ui/posts/{mine.id}")
    assert page.status_code == 200 and "Client A&#39;s launch" in page.text
    assert "Review queue" not in page.text and "Calendar" not in page.text
    # A link may decide, not publish: its session lacks social.publish.
    assert "Publish now" not in page.text
    refused = await api.post(f"/ui/posts/{mine.id}/cancel", data={"csrf": csrf_of(page)})
    assert "without the social.publish scope" in (await api.get(refused.headers["location"])).text

    # Nothing else of the tenant: not the queue, not the calendar, not another post.
    for elsewhere in ("/ui/queue", "/ui/calendar", f"/ui/posts/{theirs.id}", "/ui/posts/nope"):
        answer = await api.get(elsewhere)
        assert answer.status_code == 403, elsewhere
        assert "This review link is for one post" in answer.text
        assert "Client B" not in answer.text
    for action in ("reject", "approve", "cancel", "publish-now"):
        answer = await api.post(
            f"/ui/posts/{theirs.id}/{action}",
            data={
                "csrf": csrf_of(page),
                "comment": "not yours",
                "expected_updated_at": theirs.updated_at.isoformat(),
            },
        )
        assert answer.status_code == 403 and "for one post" in answer.text, action
    async with db.session() as session:
        row = await session.get(Post, theirs.id)
        assert row is not None and row.approval_state == ApprovalState.PENDING

    # Its own post it decides.
    done = await api.post(
        f"/ui/posts/{mine.id}/reject",
        data={
            "csrf": csrf_of(page),
            "comment": "Fix the date",
            "expected_updated_at": version_of(page),
        },
    )
    assert done.headers["location"] == f"/ui/posts/{mine.id}"
    assert "Rejected." in (await api.get(done.headers["location"])).text
    async with db.session() as session:
        row = await session.get(Post, mine.id)
        assert row is not None and row.approval_state == ApprovalState.REJECTED
        assert row.reviewed_by == "Ana (review link)"


async def test_a_queue_link_opens_its_tenants_queue_in_its_mode(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    waiting = await pending_post(db, settings, tenant, body="Sandbox post waiting")
    other = await make_tenant(db)
    await pending_post(db, settings, other, body="Another tenant's post")
    live_post = await pending_post(db, settings, tenant, body="A live post waiting")
    async with db.session() as session:
        row = await session.get(Post, live_post.id)
        assert row is not None
        row.is_test = False
        session.add(row)
        await session.commit()

    link = await issue(api, tenant.api_key, scope="queue")
    opened = await open_link(api, link["url"], settings)
    assert opened.headers["location"] == "/ui/queue"
    queue = await api.get("/ui/queue")
    assert "Sandbox post waiting" in queue.text
    assert "Another tenant" not in queue.text and "A live post" not in queue.text
    assert (await api.get(f"/ui/posts/{waiting.id}")).status_code == 200
    assert (await api.get(f"/ui/posts/{live_post.id}")).status_code == 404
    assert (await api.get("/ui/calendar")).status_code == 200


async def test_revoking_a_link_ends_it_and_the_sessions_it_started(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    link = await issue(api, tenant.api_key, post_id=post.id)
    kept = await issue(api, tenant.api_key, post_id=post.id, reviewer="Bo")
    await open_link(api, link["url"], settings)
    await open_link(browser, kept["url"], settings)
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 200

    # Only the owner's tenant and mode can revoke it.
    for key in ((await make_tenant(db)).api_key, (await add_key(db, tenant, test=False)).api_key):
        answer = await api.delete(f"/v1/review-links/{link['id']}", headers=bearer(key))
        assert answer.status_code == 404, answer.text
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 200

    gone = await api.delete(f"/v1/review-links/{link['id']}", headers=bearer(tenant.api_key))
    assert gone.status_code == 204
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 303  # signed out at once
    withdrawn = await api.get(path_of(link, settings))
    assert withdrawn.status_code == 403 and "withdrawn" in withdrawn.text
    # Another link's session goes on.
    assert (await browser.get(f"/ui/posts/{post.id}")).status_code == 200
    statuses = {r["id"]: r["status"] for r in await listed(api, tenant.api_key)}
    assert statuses == {link["id"]: "revoked", kept["id"]: "active"}
    again = await api.delete(f"/v1/review-links/{link['id']}", headers=bearer(tenant.api_key))
    assert again.status_code == 204
    async with db.session() as session:
        ended = (
            await session.exec(select(PageSession).where(PageSession.review_link_id == link["id"]))
        ).one()
        assert ended.ended_at is not None


async def test_a_session_checks_its_link_on_every_request(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    """Revoked by any path (not only DELETE, which also ends the sessions): signed out."""
    tenant = await make_tenant(db)
    link = await issue(api, tenant.api_key, scope="queue")
    await open_link(api, link["url"], settings)
    assert (await api.get("/ui/queue")).status_code == 200
    async with db.session() as session:
        row = await session.get(ReviewLink, link["id"])
        assert row is not None
        row.revoked_at = utcnow()
        session.add(row)
        await session.commit()
    assert (await api.get("/ui/queue")).status_code == 303


async def test_links_expire_cannot_be_forged_and_die_with_their_key(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    link = await issue(api, tenant.api_key, post_id=post.id, expires_in_minutes=30)
    path = path_of(link, settings)
    forged = await api.get(path[:-3] + "abc")
    assert forged.status_code == 403 and "not valid" in forged.text

    old = await issue(api, tenant.api_key, scope="queue")
    async with db.session() as session:
        row = await session.get(ReviewLink, old["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        await session.commit()
    expired = await api.get(path_of(old, settings))
    assert expired.status_code == 403 and "expired" in expired.text
    assert {r["id"]: r["status"] for r in await listed(api, tenant.api_key)}[old["id"]] == "expired"

    # A session from a link lasts no longer than the link.
    await open_link(api, link["url"], settings)
    async with db.session() as session:
        started = (await session.exec(select(PageSession))).one()
        issued = await session.get(ReviewLink, link["id"])
        assert issued is not None and started.expires_at <= issued.expires_at

    # Revoking the key that issued the link ends the link and the session it opened.
    await _revoke_key(db, tenant)
    assert (await api.get(f"/ui/posts/{post.id}")).status_code == 303
    withdrawn = await api.get(path)
    assert withdrawn.status_code == 403 and "withdrawn" in withdrawn.text


async def _revoke_key(db: Database, tenant: TenantFixture) -> None:
    async with db.session() as session:
        key = (await session.exec(select(ApiKey).where(ApiKey.id == tenant.api_key_id))).one()
        key.revoked_at = utcnow()
        session.add(key)
        await session.commit()


# ---- the access log ------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines() -> Iterator[Lines]:
    access = logging.getLogger("uvicorn.access")
    level = access.level
    lines = Lines()
    access.addHandler(lines)
    try:
        yield lines
    finally:
        access.removeHandler(lines)
        access.setLevel(level)


async def test_uvicorns_access_lines_never_carry_a_link_token(
    settings: Settings, db: Database, access_lines: Lines
) -> None:
    """The real server, logging as `crier api` does (INFO, access lines on)."""
    port = free_port()
    here = settings.model_copy(update={"public_api_url": f"http://127.0.0.1:{port}"})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(here), host="127.0.0.1", port=port, log_level="info", log_config=None
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.01)
        tenant = await make_tenant(db)
        async with httpx.AsyncClient(base_url=here.public_api_url, timeout=10) as client:
            link = await issue(client, tenant.api_key, scope="queue")
            token = path_of(link, here).removeprefix("/ui/links/")
            opened = await open_link(client, link["url"], here)
            assert opened.status_code == 303
            await client.get(f"/ui/links/{token}/", params={"again": token})
    finally:
        server.should_exit = True
        await task
    mentioning = [line for line in access_lines.lines if "/ui/links/" in line]
    assert len(mentioning) == 3, access_lines.lines
    assert all("/ui/links/[redacted]" in line for line in mentioning)
    assert not any(token in line for line in access_lines.lines)
