"""The Social tab's pages over plain HTTP (seed 001): signing in with a manager's key, projects,
the cards through the sandbox's real consent screens, the board's colours, scheduling with the
dry run's problems, the History's Retry and Cancel, the plan's upgrade prompt, CSRF, and what a
key limited to a project or a sandbox sign-in may open."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from core.config import Settings
from core.db import Database, utcnow
from core.models import Account, ApiKey, Attempt, Connection, Post, Project, Target
from core.projects import default_project
from core.status import AttemptOutcome, Platform, TargetMode, TargetStatus
from tests.support.api import api_client
from tests.support.api_fixtures import api_fixture
from tests.support.factories import TenantFixture, add_key, make_account, make_post, make_tenant
from tests.support.harness import Harness
from tests.support.oauth import consent
from tests.support.waiting import eventually

api = api_fixture()


@pytest.fixture
async def worked(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a real worker behind it: actions that reach a workflow are answered."""
    async with api_client(harness.settings, harness.env.client) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser at the (sandbox) platform's consent screen."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def problems_of(page: httpx.Response) -> list[str]:
    return [html.unescape(p) for p in re.findall(r'<li class="problem">([^<]*)</li>', page.text)]


def card_state(page: httpx.Response, platform: str) -> str:
    found = re.search(rf'data-card="{platform}" data-state="(\w+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def sign_in(api: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await api.get("/ui/sign-in")
    return await api.post("/ui/sign-in", data={"api_key": key, "csrf": csrf_of(form)})


async def project_of(db: Database, tenant: TenantFixture, *, test: bool = True) -> Project:
    async with db.session() as session:
        return await default_project(session, tenant.tenant_id, test)


async def new_project(db: Database, tenant: TenantFixture, name: str) -> Project:
    project = Project(tenant_id=tenant.tenant_id, is_test=True, name=name)
    async with db.session() as session:
        session.add(project)
        await session.commit()
        await session.refresh(project)
    return project


async def set_target(db: Database, target_id: str, **fields: object) -> None:
    async with db.session() as session:
        row = await session.get(Target, target_id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)
        await session.commit()


async def target_status(db: Database, target_id: str) -> TargetStatus:
    async with db.session() as session:
        row = await session.get(Target, target_id)
        assert row is not None
        return row.status


async def follow(api: httpx.AsyncClient, answer: httpx.Response) -> httpx.Response:
    assert answer.status_code == 303, (answer.status_code, answer.text)
    location = urlsplit(answer.headers["location"])
    return await api.get(location.path + (f"?{location.query}" if location.query else ""))


async def test_a_managers_key_signs_in_and_makes_a_project(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db, scopes=("social.view", "social.manage"))
    signed = await sign_in(api, tenant.api_key)
    # Not a reviewer: the projects, not the review queue.
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/projects"
    listed = await api.get("/ui/projects")
    default = await project_of(db, tenant)
    assert f'data-project="{default.id}"' in listed.text
    assert listed.headers["content-security-policy"].startswith("default-src 'self'")

    made = await api.post("/ui/projects", data={"csrf": csrf_of(listed), "name": "Acme"})
    tab = await follow(api, made)
    assert tab.status_code == 200 and "Acme · Social" in tab.text
    assert {card_state(tab, p.value) for p in Platform} == {"connect"}
    # Without social.publish the page says so; connecting is a manager's, so it is allowed.
    assert 'id="plan"' in tab.text

    again = await api.post("/ui/projects", data={"csrf": csrf_of(listed), "name": "Acme"})
    assert again.status_code == 422 and problems_of(again) == [
        "this tenant already has a project named 'Acme' in sandbox mode: choose another name, "
        "or use that project"
    ]
    forged = await api.post("/ui/projects", data={"csrf": "forged", "name": "Forged"})
    assert forged.status_code == 303
    async with db.session() as session:
        names = (await session.exec(select(Project.name))).all()
    assert "Forged" not in names and names.count("Acme") == 1


async def test_a_reviewers_key_gets_the_queue_and_the_tab_without_its_buttons(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db, scopes=("social.view", "social.approve"))
    assert (await sign_in(api, tenant.api_key)).headers["location"] == "/ui/queue"
    tab = await api.get(f"/ui/projects/{(await project_of(db, tenant)).id}/social")
    assert tab.status_code == 200
    assert 'disabled title="needs the social.manage scope"' in tab.text
    viewer = await add_key(db, tenant, scopes=("social.view",))
    async with api_client(settings, None) as other:
        refused = await sign_in(other, viewer.api_key)
        assert refused.status_code == 403 and "none of the scopes" in refused.text


async def test_connecting_through_the_consent_screen_and_disconnecting(
    api: httpx.AsyncClient, db: Database, browser: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(db)
    project = await project_of(db, tenant)
    await sign_in(api, tenant.api_key)
    tab = await api.get(f"/ui/projects/{project.id}/social")

    # X: one account granted, back on the card, active.
    going = await api.post(f"/ui/projects/{project.id}/connect/x", data={"csrf": csrf_of(tab)})
    assert going.status_code == 200, going.text
    url = html.unescape(re.search(r'data-consent href="([^"]+)"', going.text).group(1))  # type: ignore[union-attr]
    assert f'http-equiv="refresh" content="0;url={html.escape(url)}"' in going.text
    answer = await consent(browser, url)
    back = await api.get("/v1/oauth/x/callback", params=answer)
    assert back.status_code == 303
    assert urlsplit(back.headers["location"]).path == f"/ui/projects/{project.id}/social"
    assert "status=completed" in back.headers["location"]
    tab = await follow(api, await follow(api, back))
    assert card_state(tab, "x") == "active" and "data-account-name" in tab.text
    assert "connected." in tab.text

    # Facebook: the login grants two Pages; the tab sends the person to choose.
    tab = await api.get(f"/ui/projects/{project.id}/social")
    going = await api.post(
        f"/ui/projects/{project.id}/connect/facebook", data={"csrf": csrf_of(tab)}
    )
    url = html.unescape(re.search(r'data-consent href="([^"]+)"', going.text).group(1))  # type: ignore[union-attr]
    back = await api.get("/v1/oauth/facebook/callback", params=await consent(browser, url))
    assert "status=awaiting_selection" in back.headers["location"]
    landed = await api.get(
        urlsplit(back.headers["location"]).path + "?" + urlsplit(back.headers["location"]).query
    )
    assert landed.status_code == 303 and "/connections/" in landed.headers["location"]
    choose = await api.get(landed.headers["location"])
    ids = re.findall(r'name="external_ids" value="([^"]+)"', choose.text)
    assert len(ids) == 2
    chosen = await api.post(
        landed.headers["location"], data={"csrf": csrf_of(choose), "external_ids": ids[:1]}
    )
    tab = await follow(api, chosen)
    assert card_state(tab, "facebook") == "active" and "1 account added." in tab.text

    # Disconnect X: the card says so, and the account is kept as disconnected.
    async with db.session() as session:
        x = (await session.exec(select(Account).where(Account.platform == Platform.X))).one()
    gone = await api.post(
        f"/ui/projects/{project.id}/accounts/{x.id}/disconnect", data={"csrf": csrf_of(tab)}
    )
    tab = await follow(api, gone)
    assert card_state(tab, "x") == "disconnected" and "disconnected." in tab.text


async def test_a_refused_consent_comes_back_to_the_card_with_the_reason(
    api: httpx.AsyncClient, db: Database, browser: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(db)
    project = await project_of(db, tenant)
    await sign_in(api, tenant.api_key)
    tab = await api.get(f"/ui/projects/{project.id}/social")
    going = await api.post(f"/ui/projects/{project.id}/connect/x", data={"csrf": csrf_of(tab)})
    url = html.unescape(re.search(r'data-consent href="([^"]+)"', going.text).group(1))  # type: ignore[union-attr]
    back = await api.get(
        "/v1/oauth/x/callback", params=await consent(browser, url, decision="deny")
    )
    tab = await follow(api, await follow(api, back))
    assert card_state(tab, "x") == "connect" and "Not connected" in tab.text


async def test_the_board_colours_each_target_by_its_status(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1700000000000000001")
    expected = {
        TargetStatus.PUBLISHED: "dot-published",
        TargetStatus.DRAFTED: "dot-drafted",
        TargetStatus.READY_FOR_MANUAL: "dot-drafted",
        TargetStatus.FAILED: "dot-failed",
        TargetStatus.DEAD: "dot-failed",
        TargetStatus.SCHEDULED: "dot-pending",
    }
    targets = {}
    for status in expected:
        _, target = await make_post(db, tenant, account, body=f"a {status} post")
        fields: dict[str, object] = {"status": status}
        if status == TargetStatus.PUBLISHED:
            fields["external_url"] = "https://x.example/status/1"
        if status in (TargetStatus.FAILED, TargetStatus.DEAD):
            fields["last_error"] = f"the platform refused it ({status})"
        await set_target(db, target.id, **fields)
        targets[status] = target.id
    await sign_in(api, tenant.api_key)
    tab = await api.get(f"/ui/projects/{account.project_id}/social")
    for status, dot in expected.items():
        row = re.search(
            rf'data-target="{targets[status]}" data-status="{status.value}">'
            r'\s*<td><span class="dot ([\w-]+)"([^>]*)>',
            tab.text,
        )
        assert row is not None, status
        assert row.group(1) == dot
        if dot == "dot-failed":
            assert f'title="the platform refused it ({status})"' in row.group(2)
    assert 'data-platform-link href="https://x.example/status/1"' in tab.text
    assert tab.text.count("data-history") == len(expected)


async def test_scheduling_names_every_problem_then_schedules_in_the_chosen_zone(
    worked: httpx.AsyncClient, harness: Harness
) -> None:
    api, db = worked, harness.db
    tenant = await make_tenant(db)
    account = await make_account(db, harness.settings, tenant, Platform.X, "1700000000000000002")
    await sign_in(api, tenant.api_key)
    url = f"/ui/projects/{account.project_id}/schedule"
    form = await api.get(url)
    assert form.status_code == 200 and f'name="mode_{account.id}"' in form.text
    base = {"csrf": csrf_of(form), "account": account.id, f"mode_{account.id}": "publish"}

    too_long = "x" * 300
    previewed = await api.post(
        url, data={**base, "body": too_long, "timezone": "Mars/Olympus", "action": "preview"}
    )
    assert previewed.status_code == 422
    found = problems_of(previewed)
    assert any("not a time zone" in p for p in found), found
    assert any(p.startswith("x · ") and "280" in p for p in found), found
    assert f'data-preview="{account.id}"' in previewed.text
    assert too_long in previewed.text  # nothing the person typed is lost

    none_ticked = await api.post(
        url, data={"csrf": base["csrf"], "body": "hi", "action": "schedule"}
    )
    assert none_ticked.status_code == 422
    assert problems_of(none_ticked) == ["Accounts: tick one or more accounts to post to."]

    image = f"{harness.settings.sandbox_url}/samples/image/1080x1080.jpg"
    zone = "America/New_York"
    local = (
        (utcnow() + timedelta(days=2))
        .astimezone(ZoneInfo(zone))
        .replace(second=0, microsecond=0, tzinfo=None)
    )
    scheduled = await api.post(
        url,
        data={
            **base,
            "body": "Opening on Saturday",
            "when": local.isoformat(timespec="minutes"),
            "timezone": zone,
            f"override_body_{account.id}": "Opening on Saturday, X edition",
            f"override_media_{account.id}": f"{image}\n",
            "form_id": "one-form",
            "action": "schedule",
        },
    )
    tab = await follow(api, scheduled)
    assert "Scheduled for" in tab.text
    async with db.session() as session:
        post = (await session.exec(select(Post))).one()
        target = (await session.exec(select(Target))).one()
    assert post.scheduled_for == local.replace(tzinfo=ZoneInfo(zone))
    assert target.status == TargetStatus.SCHEDULED
    assert target.override_body == "Opening on Saturday, X edition"
    assert target.override_media_urls == [image]  # one URL a line, blank lines dropped
    assert target.mode == TargetMode.PUBLISH

    # Cancel from the History: back on the History, the target cancelled.
    history = await api.get(f"/ui/posts/{post.id}/history")
    assert 'id="cancel"' in history.text
    cancelled = await api.post(
        f"/ui/posts/{post.id}/cancel",
        data={"csrf": csrf_of(history), "back": f"/ui/posts/{post.id}/history"},
    )
    assert cancelled.headers["location"] == f"/ui/posts/{post.id}/history"
    assert await target_status(db, target.id) == TargetStatus.CANCELLED
    assert 'id="cancel"' not in (await follow(api, cancelled)).text


async def test_the_history_shows_each_attempt_and_retries_a_failed_target(
    worked: httpx.AsyncClient, harness: Harness
) -> None:
    api, db = worked, harness.db
    tenant = await make_tenant(db)
    account = await make_account(db, harness.settings, tenant, Platform.X, "1700000000000000003")
    post, target = await make_post(db, tenant, account, body="Try me again")
    await set_target(
        db, target.id, status=TargetStatus.FAILED, last_error="token revoked", attempt_count=1
    )
    async with db.session() as session:
        session.add(
            Attempt(
                target_id=target.id,
                number=1,
                outcome=AttemptOutcome.FAILED,
                fingerprint="f" * 64,
                finished_at=utcnow(),
                error_kind="auth",
                error_code="89",
                error="Invalid or expired token",
            )
        )
        await session.commit()
    await sign_in(api, tenant.api_key)
    history = await api.get(f"/ui/posts/{post.id}/history")
    assert history.text.count("data-attempt") == 1
    assert "Invalid or expired token" in history.text and "<code>89</code>" in history.text
    assert f'data-retry="{target.id}"' in history.text

    retried = await api.post(
        f"/ui/targets/{target.id}/retry",
        data={"csrf": csrf_of(history), "back": f"/ui/posts/{post.id}/history"},
    )
    assert retried.headers["location"] == f"/ui/posts/{post.id}/history"

    async def published() -> bool:
        return await target_status(db, target.id) == TargetStatus.PUBLISHED

    await eventually(published, what="the retried target to publish")
    again = await api.get(f"/ui/posts/{post.id}/history")
    assert again.text.count("data-attempt") == 2 and f'data-retry="{target.id}"' not in again.text


async def test_the_free_plan_shows_the_upgrade_prompt_and_schedules_nothing(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db, allow_social_publishing=False)
    account = await make_account(db, settings, tenant, Platform.X, "1700000000000000004")
    await sign_in(api, tenant.api_key)
    tab = await api.get(f"/ui/projects/{account.project_id}/social")
    assert 'id="upgrade"' in tab.text and "does not allow social publishing" in tab.text
    assert '<strong id="plan">' in tab.text
    url = f"/ui/projects/{account.project_id}/schedule"
    form = await api.get(url)
    assert 'id="upgrade"' in form.text
    assert re.search(r'value="schedule" class="primary" disabled', form.text)
    refused = await api.post(
        url,
        data={
            "csrf": csrf_of(form),
            "account": account.id,
            f"mode_{account.id}": "draft",
            "body": "hello",
            "action": "schedule",
        },
    )
    assert refused.status_code == 403
    assert problems_of(refused)[0].startswith("Not scheduled: the plan")
    async with db.session() as session:
        assert (await session.exec(select(Post))).first() is None
    # Preview still works: the person sees what would be sent.
    previewed = await api.post(
        url,
        data={"csrf": csrf_of(form), "account": account.id, "body": "hello", "action": "preview"},
    )
    assert previewed.status_code == 200 and f'data-preview="{account.id}"' in previewed.text


async def test_a_form_without_its_csrf_token_does_nothing(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1700000000000000005")
    await sign_in(api, tenant.api_key)
    pid = account.project_id
    for path, data in (
        (f"/ui/projects/{pid}/connect/x", {}),
        (f"/ui/projects/{pid}/accounts/{account.id}/disconnect", {}),
        (
            f"/ui/projects/{pid}/schedule",
            {"account": account.id, "body": "hi", "action": "schedule"},
        ),
    ):
        refused = await api.post(path, data={**data, "csrf": "forged"})
        assert refused.status_code in (303, 403), (path, refused.status_code)
    async with db.session() as session:
        assert (await session.exec(select(Connection))).first() is None
        assert (await session.exec(select(Post))).first() is None
        row = await session.get(Account, account.id)
        assert row is not None and row.status.value == "active"


async def test_a_key_limited_to_another_project_finds_nothing_here(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1700000000000000006")
    post, _ = await make_post(db, tenant, account)
    other = await new_project(db, tenant, "Other client")
    limited = await add_key(db, tenant, name="other client's key")
    async with db.session() as session:
        key = await session.get(ApiKey, limited.api_key_id)
        assert key is not None
        key.project_ids = [other.id]
        session.add(key)
        await session.commit()
    await sign_in(api, limited.api_key)
    listed = await api.get("/ui/projects")
    assert f'data-project="{other.id}"' in listed.text
    assert f'data-project="{account.project_id}"' not in listed.text
    pid = account.project_id
    for path in (
        f"/ui/projects/{pid}/social",
        f"/ui/projects/{pid}/schedule",
        f"/ui/posts/{post.id}/history",
    ):
        assert (await api.get(path)).status_code == 404, path
    form = await api.get(f"/ui/projects/{other.id}/social")
    assert form.status_code == 200
    refused = await api.post(
        f"/ui/projects/{pid}/accounts/{account.id}/disconnect", data={"csrf": csrf_of(form)}
    )
    assert refused.status_code == 404
    # It may not make a project it could not reach.
    made = await api.post("/ui/projects", data={"csrf": csrf_of(form), "name": "Sneaky"})
    assert made.status_code == 422


async def test_a_sandbox_sign_in_never_sees_a_live_project(
    api: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db)
    live = await add_key(db, tenant, name="live key", test=False)
    live_project = await project_of(db, live, test=False)
    await sign_in(api, tenant.api_key)
    listed = await api.get("/ui/projects")
    assert f'data-project="{live_project.id}"' not in listed.text
    assert (await api.get(f"/ui/projects/{live_project.id}/social")).status_code == 404
    assert (await api.get(f"/ui/projects/{live_project.id}/schedule")).status_code == 404
