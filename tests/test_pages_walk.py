"""Who may open which page: every /ui route, walked as the API's routes are in test_tenancy.py.

A table names each page; a page added without a row fails the first test. Then each page that
names a row is opened, and each form on it posted, by four intruders: nobody signed in, another
tenant, the same tenant's other mode, and the same tenant's key limited to another project.
None sees the row (a 404 page, or the sign-in page) and none changes anything. Then a reviewer
whose key has only social.approve posts every manager's and publisher's form: nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from api.ui import account_pages, pages, social
from core.config import Settings
from core.db import Database, utcnow
from core.models import Account, Connection, Post, Project, Target
from core.status import AccountStatus, Platform, TargetStatus
from tests.support.api_fixtures import api_fixture
from tests.support.factories import TenantFixture, add_key, make_account, make_post, make_tenant
from tests.test_social_pages_http import csrf_of, project_of, sign_in

api = api_fixture()

Kind = Literal["public", "list", "row"]
# (method, path) → what it is: public (signing in and out), a list of the caller's own rows,
# or a page or form naming one row, and for forms the scope they need (None: any session).
PAGES: dict[tuple[str, str], tuple[Kind, str | None]] = {
    ("GET", "/ui"): ("public", None),
    ("GET", "/ui/sign-in"): ("public", None),
    ("POST", "/ui/sign-in"): ("public", None),
    ("GET", "/ui/links/{token}"): ("public", None),  # the token is the credential
    ("POST", "/ui/links/{token}"): ("public", None),
    ("POST", "/ui/sign-out"): ("public", None),
    ("GET", "/ui/queue"): ("list", None),
    ("GET", "/ui/calendar"): ("list", None),
    ("GET", "/ui/projects"): ("list", None),
    ("POST", "/ui/projects"): ("list", "social.manage"),
    ("GET", "/ui/posts/{post_id}"): ("row", None),
    ("GET", "/ui/posts/{post_id}/history"): ("row", None),
    ("POST", "/ui/posts/{post_id}/publish-now"): ("row", "social.publish"),
    ("POST", "/ui/posts/{post_id}/cancel"): ("row", "social.publish"),
    ("POST", "/ui/posts/{post_id}/reschedule"): ("row", "social.publish"),
    ("POST", "/ui/posts/{post_id}/{decision}"): ("row", "social.approve"),
    ("POST", "/ui/targets/{target_id}/retry"): ("row", "social.publish"),
    ("GET", "/ui/projects/{project_id}/social"): ("row", None),
    ("POST", "/ui/projects/{project_id}/connect/{name}"): ("row", "social.manage"),
    ("GET", "/ui/projects/{project_id}/connections/{connection_id}"): ("row", None),
    ("POST", "/ui/projects/{project_id}/connections/{connection_id}"): ("row", "social.manage"),
    ("POST", "/ui/projects/{project_id}/accounts/{account_id}/disconnect"): (
        "row",
        "social.manage",
    ),
    ("GET", "/ui/projects/{project_id}/schedule"): ("row", None),
    ("GET", "/ui/accounts/{account_id}"): ("row", None),
    ("POST", "/ui/projects/{project_id}/schedule"): ("row", "social.manage"),
}


def _routes(router: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every page route's method and path, through the routers the Social tab includes."""
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            for method in route.methods or ():
                yield method, prefix + route.path


def test_every_page_is_in_the_table() -> None:
    served = {
        found
        for router in (pages.router, social.router, account_pages.router)
        for found in _routes(router)
    }
    assert served == set(PAGES)


# What each form is sent, filled as a person would fill it, so a refusal is the walk's doing.
FORMS: dict[str, dict[str, str]] = {
    "/ui/posts/{post_id}/reschedule": {"when": "2030-01-01T09:00", "timezone": "UTC"},
    "/ui/posts/{post_id}/{decision}": {"comment": "walked", "expected_updated_at": ""},
    "/ui/projects": {"name": "Walked in"},
    "/ui/projects/{project_id}/connections/{connection_id}": {"external_ids": "1"},
    "/ui/projects/{project_id}/schedule": {"body": "walked", "action": "schedule"},
}


async def _owned(db: Database, settings: Settings) -> tuple[TenantFixture, dict[str, str]]:
    """Tenant A's sandbox rows in its default project, one of each kind a page can name."""
    owner = await make_tenant(db)
    account = await make_account(db, settings, owner, Platform.X, "1600000000000000001")
    post, target = await make_post(db, owner, account, body="A's post")
    connection = Connection(
        tenant_id=owner.tenant_id,
        api_key_id=owner.api_key_id,
        platform=Platform.FACEBOOK,
        is_sandbox=True,
        project_id=account.project_id,
        state_hash="w" * 64,
        status="awaiting_selection",
        expires_at=utcnow().replace(year=utcnow().year + 1),
    )
    async with db.session() as session:
        session.add(connection)
        await session.commit()
    return owner, {
        "post_id": post.id,
        "target_id": target.id,
        "project_id": account.project_id,
        "account_id": account.id,
        "connection_id": connection.id,
        "name": "linkedin",
        "decision": "approve",
    }


async def _unchanged(db: Database, owner: TenantFixture, ids: dict[str, str]) -> None:
    async with db.session() as session:
        post = await session.get(Post, ids["post_id"])
        target = await session.get(Target, ids["target_id"])
        account = await session.get(Account, ids["account_id"])
        connection = await session.get(Connection, ids["connection_id"])
        names = (
            await session.exec(select(Project.name).where(Project.tenant_id == owner.tenant_id))
        ).all()
        accounts = (
            await session.exec(select(Account.id).where(Account.tenant_id == owner.tenant_id))
        ).all()
        assert post is not None and target is not None
        assert account is not None and connection is not None
        assert (post.status, post.approval_state.value, post.body) == (
            "draft",
            "not_required",
            "A's post",
        )
        assert (target.status, target.scheduled_for) == (TargetStatus.DRAFT, None)
        assert account.status == AccountStatus.ACTIVE
        assert (connection.status, connection.account_ids) == ("awaiting_selection", [])
        assert "Walked in" not in names  # no project was made
        assert accounts == [ids["account_id"]]  # and no account connected


async def _walk(
    api: httpx.AsyncClient, ids: dict[str, str], *, csrf: str, expect_sign_in: bool = False
) -> int:
    """Every page naming a row, opened and posted: each GET is a 404 page (or, signed out, the
    way to the sign-in page); each POST changes nothing (checked by the caller)."""
    walked = 0
    for (method, path), (kind, _) in PAGES.items():
        if kind != "row":
            continue
        url = path.format(**ids)
        if method == "GET":
            answer = await api.get(url)
            if expect_sign_in:
                assert answer.status_code == 303, (path, answer.status_code)
                assert answer.headers["location"].startswith("/ui/sign-in"), path
            else:
                assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
                assert "A&#39;s post" not in answer.text and "A's post" not in answer.text
        else:
            answer = await api.post(url, data={"csrf": csrf, **FORMS.get(path, {})})
            assert answer.status_code in (303, 403, 404, 422), (path, answer.status_code)
        walked += 1
    return walked


async def _signed_in(api: httpx.AsyncClient, key: str) -> str:
    signed = await sign_in(api, key)
    assert signed.status_code == 303, signed.text
    return csrf_of(await api.get("/ui/projects"))


@pytest.mark.parametrize("intruder", ["nobody", "another tenant", "other mode", "other project"])
async def test_no_page_shows_or_changes_a_row_it_may_not_reach(
    api: httpx.AsyncClient, db: Database, settings: Settings, intruder: str
) -> None:
    owner, ids = await _owned(db, settings)
    csrf = "none"
    if intruder == "another tenant":
        csrf = await _signed_in(api, (await make_tenant(db)).api_key)
    elif intruder == "other mode":
        csrf = await _signed_in(api, (await add_key(db, owner, test=False)).api_key)
    elif intruder == "other project":
        other = Project(tenant_id=owner.tenant_id, is_test=True, name="Other")
        async with db.session() as session:
            session.add(other)
            await session.commit()
        csrf = await _signed_in(api, (await add_key(db, owner, project_ids=(other.id,))).api_key)
    walked = await _walk(api, ids, csrf=csrf, expect_sign_in=intruder == "nobody")
    assert walked == sum(1 for kind, _ in PAGES.values() if kind == "row")
    await _unchanged(db, owner, ids)
    if intruder != "nobody":  # the lists show none of A's rows
        for listing in ("/ui/queue", "/ui/calendar", "/ui/projects"):
            page = await api.get(listing)
            assert page.status_code == 200, listing
            assert ids["post_id"] not in page.text and ids["project_id"] not in page.text


async def test_a_reviewers_session_changes_nothing_through_a_managers_or_publishers_form(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    owner, ids = await _owned(db, settings)
    reviewer = await add_key(db, owner, scopes=("social.view", "social.approve"))
    csrf = await _signed_in(api, reviewer.api_key)
    project = await project_of(db, owner)
    assert project.id == ids["project_id"]
    walked = 0
    for (method, path), (_, scope) in PAGES.items():
        if method != "POST" or scope in (None, "social.approve"):
            continue
        answer = await api.post(
            path.format(**ids), data={"csrf": csrf, **FORMS.get(path, {})}, follow_redirects=True
        )
        assert answer.status_code in (200, 403, 422), (path, answer.status_code)
        assert scope in answer.text, (path, answer.text[:500])  # the page says which scope
        walked += 1
    assert walked >= 8
    await _unchanged(db, owner, ids)
