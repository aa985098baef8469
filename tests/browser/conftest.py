"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright, and the whole stack
behind it: the API over real HTTP, a worker on the Temporal dev server, the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.models import Account
from core.status import Platform
from tests.support.factories import TenantFixture, make_account, make_tenant
from tests.support.servers import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls hosts this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
HAVE_CHROMIUM = CHROMIUM.exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        # Never skipped: `make test` installs it (apt-get install chromium) before the suite.
        pytest.fail("Debian's chromium is not at /usr/bin/chromium: run `make test`, or install it")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@dataclass
class Site:
    url: str
    settings: Settings
    db: Database
    tenant: TenantFixture
    account: Account
    sandbox: httpx.AsyncClient

    async def screenshot(self, context: BrowserContext, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await context.pages[-1].screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Site]:
    port = free_port()
    here = settings.model_copy(update={"public_api_url": f"http://127.0.0.1:{port}"})
    async with AsyncExitStack() as stack:
        worker = await stack.enter_async_context(worker_for(dev_env.client, here))
        await stack.enter_async_context(worker)
        url = await stack.enter_async_context(
            serving(create_app(here, temporal=dev_env.client), port=port)
        )
        tenant = await make_tenant(db)
        account = await make_account(db, here, tenant, Platform.X, "1600000000000000001")
        yield Site(
            url=url, settings=here, db=db, tenant=tenant, account=account, sandbox=sandbox_http
        )
