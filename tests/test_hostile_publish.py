"""Media that turns hostile after the create-time check meets the worker's guarded fetcher at
publish time (issue 18): the target ends `failed` with the host's reason, on the path
production takes (woken `publish_lead` ahead, the media prepared before the time), whether it
was due at once or later. Before the fix the refusal failed the workflow run and left the
target `scheduled` for ever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.status import Platform, TargetStatus
from tests.support.deliveries import start_delivery
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.harness import Harness
from tests.support.hostile_servers import hostile_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def live(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Harness]:
    ahead = settings.model_copy(update={"publish_lead": timedelta(seconds=3)})
    harness = Harness(env=dev_env, settings=ahead, db=db, sandbox=sandbox_http)
    await harness.start_worker()
    yield harness
    await harness.stop_worker()


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("/gzip-bomb", "sent a gzip body; crier asks for identity"),
        ("/endless", "larger than 2,000,000 bytes"),
    ],
)
@pytest.mark.parametrize("after", [None, timedelta(seconds=5)], ids=["now", "later"])
async def test_hostile_media_at_publish_time_fails_the_target(
    live: Harness, route: str, reason: str, after: timedelta | None
) -> None:
    async with hostile_server() as hostile:
        tenant = await make_tenant(live.db)
        account = await make_account(
            live.db, live.settings, tenant, Platform.BLUESKY, "did:plc:hostile"
        )
        post, target = await make_post(live.db, tenant, account, media_urls=[hostile.url + route])
        due = None if after is None else await live.now() + after
        handle = await start_delivery(
            live.db, live.env.client, live.settings, post, target, due=due
        )
        state = await live.result(handle.id)
    assert state.status == TargetStatus.FAILED
    assert state.error is not None
    assert f"127.0.0.1: {reason}" in state.error and "media_unusable" in state.error
    assert not await live.posts(Platform.BLUESKY)  # nothing reached the platform
    stored = await live.target(target.id)
    assert stored.status == TargetStatus.FAILED
