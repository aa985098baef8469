"""What a browser walk on `crier dev`'s stack needs beside the browser: screenshots for the docs,
waiting on a page that only changes when reloaded, and the hands behind the scenes (an operator
moving the tenant to another plan, a person revoking the app at the platform, the token-health
schedule firing, a platform refusing a post).

The hands use the same doors the stack's own processes use: its database, its sandbox's control
API, its Temporal server. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Locator, Page, ViewportSize
from sqlmodel import Session, select
from temporalio.client import Client

from cli.schedules import TOKEN_HEALTH_SCHEDULE_ID
from core.config import Settings
from core.db import make_sync_engine
from core.models import Account, Project
from core.status import AccountStatus, Platform
from core.temporal import data_converter
from core.vault import Vault
from providers.connect.registry import connector_for
from providers.connect.stored import tokens_of
from tests.support.devstack import REPO, DevStack
from tests.support.waiting import eventually

# The docs' pictures are retaken on purpose (`make screenshots`); an ordinary run leaves its own
# under tests/artifacts, so running the suite does not rewrite files in git.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("CRIER_DOC_SCREENSHOTS")
    else REPO / "tests" / "artifacts" / "screenshots"
)
# Small pictures for the docs: a laptop's window, the whole page below it.
VIEWPORT: ViewportSize = {"width": 1100, "height": 800}
RELOAD_EVERY = 0.25  # between two reloads of a page waited on: short beside a publish


def stack_settings(stack: DevStack, database_url: str) -> Settings:
    """Settings that reach what the running stack uses: its database, its data directory (the
    development token and payload keys live there), its sandbox."""
    return Settings(
        env="test", data_dir=stack.data_dir, database_url=database_url, sandbox_url=stack.sandbox
    )


async def shoot(page: Page, seed: str, name: str) -> Path:
    """The whole page, as seed-<seed>-<name>.png in SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"seed-{seed}-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def reload_until(
    page: Page, check: Callable[[], Awaitable[bool]], *, what: str, within: float = 60
) -> None:
    """Reload until `check` holds: the Social tab shows the database as it was when served."""

    async def reloaded() -> bool:
        await page.reload()
        return await check()

    if not await check():
        await eventually(reloaded, what=what, within=within, every=RELOAD_EVERY)


async def submit(page: Page, button: Locator) -> None:
    """Press a form's button and wait for the page it leads to: the next step never races the
    form's request (a `goto` meanwhile would abort it)."""
    async with page.expect_navigation():
        await button.click()


async def has_class(locator: Locator, name: str) -> bool:
    if await locator.count() != 1:
        return False
    classes = (await locator.get_attribute("class") or "").split()
    return name in classes


def wall_time(moment: datetime, zone: str, *, seconds: bool) -> str:
    """`moment` as a datetime-local input's value in `zone` (minutes, or with seconds)."""
    local = moment.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")


def due_at_least(lead: timedelta, *, whole_minutes: bool) -> datetime:
    """The earliest time `lead` from now that the form can name: rounded up to a whole minute
    when its time field takes minutes only."""
    due = datetime.now(UTC) + lead
    if whole_minutes and (due.second or due.microsecond):
        due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return due.replace(microsecond=0)


# The operator's and the platforms' hands ---------------------------------------------------


def tenant_of(settings: Settings, project_id: str) -> str:
    engine = make_sync_engine(settings)
    try:
        with Session(engine) as session:
            project = session.get(Project, project_id)
            assert project is not None, project_id
            return project.tenant_id
    finally:
        engine.dispose()  # SQLite: no connection left open beside the stack's


async def move_tenant_to_plan(settings: Settings, project_id: str, plan_id: str) -> None:
    """The operator runs what the upgrade prompt names: `crier tenants update <id> --plan`."""
    command = ["tenants", "update", tenant_of(settings, project_id), "--plan", plan_id]
    environment = {
        **os.environ,
        "CRIER_DATA_DIR": str(settings.data_dir),
        "CRIER_DATABASE_URL": settings.resolved_database_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *command,
        cwd=REPO,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()
    assert f"plan={plan_id}" in output.decode(), output.decode()


async def revoke_at_platform(settings: Settings, project_id: str, platform: Platform) -> None:
    """The person removes crier's app at the platform: its tokens for the project's account
    stop working there, and crier has not been told."""
    engine = make_sync_engine(settings)
    try:
        with Session(engine) as session:
            account = session.exec(
                select(Account).where(
                    Account.project_id == project_id,
                    Account.platform == platform,
                    Account.status == AccountStatus.ACTIVE,
                )
            ).one()
    finally:
        engine.dispose()
    tokens = tokens_of(account, Vault.from_settings(settings))
    assert tokens is not None
    async with httpx.AsyncClient(timeout=10) as http:
        await connector_for(platform, http, settings, sandbox=True).revoke(tokens)


async def run_token_health(stack: DevStack, settings: Settings) -> None:
    """Fire the token-health Schedule now rather than in six hours."""
    client = await Client.connect(stack.temporal, data_converter=data_converter(settings))
    await client.get_schedule_handle(TOKEN_HEALTH_SCHEDULE_ID).trigger()


async def refuse_next(sandbox: httpx.AsyncClient, path: str, error: dict[str, Any]) -> None:
    """The platform refuses the next call to `path` (a regular expression) with a 400."""
    answer = await sandbox.post(
        "/_control/faults",
        json={"method": "POST", "path": path, "status": 400, "body": {"error": error}},
    )
    assert answer.status_code == 200, answer.text


async def received(sandbox: httpx.AsyncClient, platform: str) -> list[dict[str, Any]]:
    """What the platform's stand-in accepted, posts and drafts."""
    answer = await sandbox.get("/_control/posts", params={"platform": platform})
    assert answer.status_code == 200, answer.text
    posts: list[dict[str, Any]] = answer.json()["data"]
    return posts


def id_in(url: str, after: str) -> str:
    """The path segment after `after` in a URL: /ui/projects/<id>/social → the project's id."""
    found = re.search(rf"/{re.escape(after)}/([^/?#]+)", url)
    assert found is not None, f"no /{after}/<id> in {url}"
    return found.group(1)
