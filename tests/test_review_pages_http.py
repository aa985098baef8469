"""The reviewer pages' security, over plain HTTP: what the session cookie holds and how it is
marked, sessions kept and ended on the server, CSRF (sign-in included), tenant and mode
isolation, deciding the version that was read, redirects."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

import httpx
from sqlmodel import select

from core.config import Settings
from core.db import Database, utcnow
from core.models import ApiKey, PageSession, Post
from core.status import ApprovalState, Platform
from tests.support.api import api_client
from tests.support.api_fixtures import api_fixture
from tests.support.factories import TenantFixture, add_key, make_account, make_post, make_tenant

SESSION_COOKIE = "crier_session"  # development and test: no __Host- prefix over plain http


# Deciding a draft post reaches no workflow, but the handlers take a Temporal client.
api = api_fixture()


def csrf_of(page: httpx.Response) -> str:
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def version_of(page: httpx.Response) -> str:
    marker = 'name="expected_updated_at" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


async def sign_in(api: httpx.AsyncClient, key: str, next: str = "/ui/queue") -> httpx.Response:
    """As a browser does: the sign-in page first (its form carries the CSRF token)."""
    form = await api.get("/ui/sign-in")
    return await api.post("/ui/sign-in", data={"api_key": key, "next": next, "csrf": csrf_of(form)})


async def open_link(api: httpx.AsyncClient, url: str, settings: Settings) -> httpx.Response:
    """As a reviewer does: the link's page, then its button (a POST)."""
    path = url.removeprefix(settings.public_api_url)
    page = await api.get(path)
    assert page.status_code == 200, page.text
    return await api.post(path, data={"csrf": csrf_of(page)})


async def pending_post(
    db: Database, settings: Settings, tenant: TenantFixture, body: str = "Needs a look"
) -> Post:
    # An account of its own per post: a test may make several posts for one tenant.
    external_id = str(1600000000000000000 + uuid.uuid4().int % 10**15)
    account = await make_account(db, settings, tenant, Platform.X, external_id)
    post, _ = await make_post(db, tenant, account, body=body)
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None
        row.requires_approval = True
        row.approval_state = ApprovalState.PENDING
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row


async def reviewing(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> tuple[Post, httpx.Response]:
    """A new tenant's reviewer, signed in, on the page of a post pending their approval."""
    tenant = await make_tenant(db)
    post = await pending_post(db, settings, tenant)
    await sign_in(api, tenant.api_key)
    return post, await api.get(f"/ui/posts/{post.id}")


async def approval_state(db: Database, post: Post) -> ApprovalState:
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None
        return row.approval_state


async def reject(api: httpx.AsyncClient, post: Post, form: dict[str, str]) -> httpx.Response:
    """The reject form posted as a browser does: the page it redirects to."""
    answer = await api.post(f"/ui/posts/{post.id}/reject", data=form)
    assert answer.status_code == 303, answer.text
    return await api.get(answer.headers["location"])


async def not_found_nor_decided(
    api: httpx.AsyncClient, db: Database, post: Post, csrf: str
) -> None:
    """The signed-in reviewer is shown no such post, and rejecting it (with a good CSRF token
    and the post's version) finds no post and leaves it pending."""
    page = await api.get(f"/ui/posts/{post.id}")
    assert page.status_code == 404 and "Needs a look" not in page.text
    form = {"csrf": csrf, "comment": "not mine", "expected_updated_at": post.updated_at.isoformat()}
    assert "no post" in (await reject(api, post, form)).text
    assert await approval_state(db, post) == ApprovalState.PENDING


async def test_the_session_cookie_is_a_random_id_kept_hashed_on_the_server(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    answer = await sign_in(api, tenant.api_key)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/queue"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/;" in lowered
    value = cookie.split(f"{SESSION_COOKIE}=")[1].split(";")[0]
    # Only a random id: no key, no key id, no tenant; the server keeps its hash.
    assert len(value) >= 40
    for secret in (tenant.api_key, tenant.api_key_id, tenant.tenant_id):
        assert secret not in value
    async with db.session() as session:
        rows = (await session.exec(select(PageSession))).all()
    assert [r.api_key_id for r in rows] == [tenant.api_key_id]
    assert rows[0].token_hash != value and value not in rows[0].token_hash

    # The API never reads the cookie: it wants its key.
    assert (await api.get("/v1/posts")).status_code == 401


def test_outside_development_the_cookies_are_host_prefixed_and_secure(settings: Settings) -> None:
    from api.ui.auth import page_cookies

    live = page_cookies(settings.model_copy(update={"env": "production"}))
    assert live.session.startswith("__Host-") and live.state.startswith("__Host-")
    # What the prefix demands of the browser: Secure, Path=/, no Domain.
    assert live.secure and live.path == "/"


async def test_signing_out_ends_the_session_for_a_copied_cookie_too(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    await sign_in(api, tenant.api_key)
    copied = api.cookies[SESSION_COOKIE]
    queue = await api.get("/ui/queue")
    assert queue.status_code == 200
    out = await api.post("/ui/sign-out", data={"csrf": csrf_of(queue)})
    assert out.status_code == 303 and out.headers["location"] == "/ui/sign-in"

    # Another browser (another API process, even) holding the copied cookie is signed out too.
    async with api_client(settings, None) as thief:
        thief.cookies.set(SESSION_COOKIE, copied)
        again = await thief.get("/ui/queue")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/ui/sign-in")
        assert "Sign in to review" in (await thief.get(again.headers["location"])).text
    async with db.session() as session:
        row = (await session.exec(select(PageSession))).one()
        assert row.ended_at is not None


async def test_sign_out_without_its_csrf_token_keeps_the_session(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    await sign_in(api, tenant.api_key)
    refused = await api.post("/ui/sign-out", data={"csrf": "forged"})
    assert refused.headers["location"] == "/ui/queue"
    assert (await api.get("/ui/queue")).status_code == 200


async def test_sign_in_needs_the_forms_csrf_token(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    # A form posted from another site: no state cookie, so no token to match.
    for data in (
        {"api_key": tenant.api_key},
        {"api_key": tenant.api_key, "csrf": "guessed"},
    ):
        refused = await api.post("/ui/sign-in", data=data)
        assert refused.status_code == 403, refused.text
        assert "sent from another site" in refused.text
        assert SESSION_COOKIE not in refused.cookies
    assert (await api.get("/ui/queue")).status_code == 303  # still not signed in
    # The page that refused carries a fresh token: the next try works.
    assert (await sign_in(api, tenant.api_key)).status_code == 303


async def test_a_session_ends_when_it_expires_or_its_key_is_revoked(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    await sign_in(api, tenant.api_key)
    assert (await api.get("/ui/queue")).status_code == 200
    async with db.session() as session:
        row = (await session.exec(select(PageSession))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        await session.commit()
    assert (await api.get("/ui/queue")).status_code == 303

    await sign_in(api, tenant.api_key)
    assert (await api.get("/ui/queue")).status_code == 200
    async with db.session() as session:
        key = await session.get(ApiKey, tenant.api_key_id)
        assert key is not None
        key.revoked_at = utcnow()
        session.add(key)
        await session.commit()
    assert (await api.get("/ui/queue")).status_code == 303


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
    post, page = await reviewing(api, db, settings)
    for token in ("", "forged"):
        form = {"csrf": token, "comment": "x", "expected_updated_at": version_of(page)}
        page = await reject(api, post, form)
        assert "This form has expired" in page.text
    assert await approval_state(db, post) == ApprovalState.PENDING


async def test_the_decide_forms_carry_the_version_read_and_a_changed_post_is_refused(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    post, page = await reviewing(api, db, settings)
    read = version_of(page)
    assert read == post.updated_at.isoformat() and read.endswith("+00:00")

    # The post changes after the reviewer read it: their decision is refused.
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None
        row.body = "Changed after it was read"
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()
    form = {"csrf": csrf_of(page), "comment": "no"}
    stale = await reject(api, post, {**form, "expected_updated_at": read})
    assert "changed since you read it" in stale.text
    assert "which version" in (await reject(api, post, form)).text
    assert await approval_state(db, post) == ApprovalState.PENDING

    # Read again, then decide: it goes through.
    page = await api.get(f"/ui/posts/{post.id}")
    form = {"csrf": csrf_of(page), "comment": "no", "expected_updated_at": version_of(page)}
    assert "Rejected." in (await reject(api, post, form)).text
    assert await approval_state(db, post) == ApprovalState.REJECTED


async def test_another_tenants_post_is_not_found_and_cannot_be_decided(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner = await make_tenant(db)
    post = await pending_post(db, settings, owner)
    stranger = await make_tenant(db)
    await sign_in(api, stranger.api_key)
    queue = await api.get("/ui/queue")
    assert "Needs a look" not in queue.text
    await not_found_nor_decided(api, db, post, csrf_of(queue))


async def test_the_other_modes_key_of_the_same_tenant_sees_no_post_on_the_pages(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)  # a sandbox key, and a sandbox post
    post = await pending_post(db, settings, tenant)
    live = (await add_key(db, tenant, test=False)).api_key
    await sign_in(api, live)
    assert "Needs a look" not in (await api.get("/ui/queue")).text
    calendar = await api.get("/ui/calendar")
    assert calendar.status_code == 200 and "Needs a look" not in calendar.text
    await not_found_nor_decided(api, db, post, csrf_of(calendar))


async def test_sign_in_never_redirects_off_site(api: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    for target in ("https://evil.example/", "//evil.example/ui/queue", "/ui//evil.example"):
        answer = await sign_in(api, tenant.api_key, next=target)
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


async def test_the_post_page_shows_each_targets_preview_as_the_dry_run_does(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    """What a reviewer sees is what `POST /v1/posts/validate` previews: the text as the
    platform receives it (LinkedIn's escaped little text), its link, title and options."""
    tenant = await make_tenant(db)
    linkedin = await make_account(db, settings, tenant, Platform.LINKEDIN, "urn:li:organization:7")
    bluesky = await make_account(db, settings, tenant, Platform.BLUESKY, "did:plc:preview0000")
    body = {
        "body": "Launch (today) #news <b>",
        "link": "https://shop.example/launch",
        "parts": [{"body": "More <soon>"}],
        "targets": [
            {"account_id": linkedin.id, "options": {"title": "Our launch"}},
            {"account_id": bluesky.id, "options": {"langs": ["en", "pt-BR"]}},
        ],
    }
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    checked = await api.post("/v1/posts/validate", json=body, headers=headers)
    assert checked.status_code == 200, checked.text
    previews = [t["preview"] for t in checked.json()["data"]["targets"]]
    created = await api.post("/v1/posts", json=body, headers=headers)
    assert created.status_code == 201, created.text

    await sign_in(api, tenant.api_key)
    page = await api.get(f"/ui/posts/{created.json()['data']['id']}")
    assert page.status_code == 200
    linkedin_preview, bluesky_preview = previews
    assert linkedin_preview["text"] == "Launch \\(today\\) \\#news \\<b\\>"
    sent = page.text.split('class="text sent-text">', 1)[1].split("</p>", 1)[0]
    assert sent == html.escape(linkedin_preview["text"], quote=False)
    assert page.text.count('class="text sent-text"') == 1  # Bluesky sends the text as written
    assert '<span class="sent-title">Our launch</span>' in page.text
    assert page.text.count('<span class="sent-link">https://shop.example/launch</span>') == 2
    assert bluesky_preview["options"] == {"langs": ["en", "pt-BR"]}
    assert '<dt>langs</dt><dd><code>["en", "pt-BR"]</code></dd>' in page.text
    # The part after the post: LinkedIn's first comment, Bluesky's reply, each as sent.
    assert [p["kind"] for preview in previews for p in preview["parts"]] == ["comment", "reply"]
    assert page.text.count('<p class="text part-text">More &lt;soon&gt;</p>') == 2
    assert "Comment 1 · 11 / 1250 characters" in page.text
    assert "Reply 1 · 11 / 300 graphemes" in page.text
    assert "<b>" not in page.text  # escaped, under the same CSP as every page
    assert "default-src 'self'" in page.headers["content-security-policy"]
