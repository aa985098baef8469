"""Issue 10: a target wakes `publish_lead` early, gets ready, and its publish waits in the worker
until the exact time. These run on the real dev server with real seconds (an activity's wait is
wall-clock time, which the time-skipping server cannot skip), with a lead of a few seconds.

They check what must hold however fast the machine is: nothing goes out before its time; a
cancel or a reschedule that reaches the waiting publish stops it, and the post never goes out
(or goes out only at the new time); a worker killed while its publish waits does not lose the
post, and does not send it twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.testing import WorkflowEnvironment

from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.messages.delivery import PUBLISH_ON_TIME, CancelRequest, RescheduleRequest
from core.status import Platform
from core.status import TargetStatus as S
from core.temporal import connect
from tests.support.deliveries import start_delivery
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.harness import REPO, Harness
from workflows.publish_target import PublishTargetWorkflow as W

pytestmark = pytest.mark.e2e

LEAD = timedelta(seconds=4)


@pytest.fixture
async def live(
    dev_env: WorkflowEnvironment, settings: Settings, db: Database, sandbox_http: httpx.AsyncClient
) -> AsyncIterator[Harness]:
    on_time = settings.model_copy(update={"publish_lead": LEAD})
    harness = Harness(env=dev_env, settings=on_time, db=db, sandbox=sandbox_http)
    await harness.start_worker()
    yield harness
    await harness.stop_worker()


async def waiting_in_worker(handle: Any, *, within: float = 20) -> None:
    """Until the publish has been handed to a worker and waits there for its time."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        pending = (await handle.describe()).raw_description.pending_activities
        if any(
            p.activity_type.name == PUBLISH_ON_TIME
            and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for p in pending
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the publish never reached a worker ahead of its time")


async def received(harness: Harness, platform: Platform = Platform.FACEBOOK) -> list[float]:
    return [p["received_at"] for p in await harness.posts(platform)]


async def test_the_worker_fires_at_the_time_never_before(live: Harness) -> None:
    target, handle = await live.schedule(after=LEAD + timedelta(seconds=3))
    due = (await live.target(target.id)).scheduled_for
    assert due is not None
    await waiting_in_worker(handle)
    assert (await handle.query(W.status)).status == S.SCHEDULED  # still steerable
    assert await received(live) == []

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED]
    [at] = await received(live)
    assert at >= due.timestamp()
    await live.keep_history(handle, "fired_on_time_by_the_worker")


async def test_a_cancel_while_the_publish_waits_stops_it_and_nothing_goes_out(
    live: Harness,
) -> None:
    target, handle = await live.schedule(after=LEAD + timedelta(seconds=2))
    due = (await live.target(target.id)).scheduled_for
    assert due is not None
    await waiting_in_worker(handle)

    # The update answers only once the waiting publish has confirmed it stopped.
    state = await handle.execute_update(W.cancel, CancelRequest(reason="changed our minds"))
    assert state.status == S.CANCELLED

    final = await handle.result()
    assert final.transitions == [S.SCHEDULED, S.CANCELLED]
    await asyncio.sleep(max(0.0, due.timestamp() - datetime.now(due.tzinfo).timestamp()) + 1.5)
    assert await received(live) == []
    assert (await live.target(target.id)).status == S.CANCELLED
    assert await live.attempts(target.id) == []
    await live.keep_history(handle, "cancelled_while_waiting_in_the_worker")


async def test_a_reschedule_while_the_publish_waits_sends_it_back_to_sleep(
    live: Harness,
) -> None:
    target, handle = await live.schedule(after=LEAD + timedelta(seconds=2))
    first = (await live.target(target.id)).scheduled_for
    assert first is not None
    await waiting_in_worker(handle)

    later = first + timedelta(seconds=6)
    state = await handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=later))
    assert state.status == S.SCHEDULED and state.scheduled_for == later

    await asyncio.sleep(max(0.0, first.timestamp() - datetime.now(first.tzinfo).timestamp()) + 1)
    assert await received(live) == []  # not at the old time
    final = await handle.result()
    assert final.status == S.PUBLISHED
    [at] = await received(live)
    assert at >= later.timestamp()
    await live.keep_history(handle, "rescheduled_while_waiting_in_the_worker")


async def test_publish_now_while_the_publish_waits_sends_it_at_once(live: Harness) -> None:
    target, handle = await live.schedule(after=LEAD + timedelta(hours=1))
    due = (await live.target(target.id)).scheduled_for
    assert due is not None
    # An hour away: it sleeps in the workflow, not yet in a worker. Move it into the lead
    # window, then publish it now from there.
    soon = datetime.now(due.tzinfo) + LEAD + timedelta(seconds=1)
    await handle.execute_update(W.reschedule, RescheduleRequest(scheduled_for=soon))
    await waiting_in_worker(handle)
    await handle.execute_update(W.publish_now)
    final = await handle.result()
    assert final.status == S.PUBLISHED
    [at] = await received(live)
    assert at < soon.timestamp()  # sooner than its time: it was told to publish now


async def test_a_worker_killed_while_its_publish_waits_loses_nothing_and_sends_once(
    live: Harness, dev_env: WorkflowEnvironment
) -> None:
    """The publish waits in a worker process that is SIGKILLed before the time; a worker
    started after the time publishes it, once. Both workers and this test speak through
    crier's own client (payload codec on), as a deployment does."""
    await live.stop_worker()
    address = dev_env.client.service_client.config.target_host
    settings = live.settings.model_copy(update={"temporal_address": address})
    client = await connect(settings)
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "worker",
        cwd=REPO,
        env={
            **os.environ,
            "CRIER_ENV": "test",
            "CRIER_DATA_DIR": str(settings.data_dir),
            "CRIER_DATABASE_URL": settings.database_url,
            "CRIER_TEMPORAL_ADDRESS": address,
            "CRIER_TASK_QUEUE": settings.task_queue,
            "CRIER_SANDBOX_URL": settings.sandbox_url,
            "CRIER_PUBLISH_LEAD": f"PT{LEAD.total_seconds():.0f}S",
        },
    )
    try:
        tenant = await make_tenant(live.db)
        account = await make_account(
            live.db, settings, tenant, Platform.FACEBOOK, "200000000000001"
        )
        post, target = await make_post(live.db, tenant, account, body="Survives a crash")
        due = datetime.now(UTC) + LEAD + timedelta(seconds=4)
        handle = await start_delivery(live.db, client, settings, post, target, due=due)
        await waiting_in_worker(handle, within=60)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 1)
    assert await received(live) == []  # nobody was left to send it

    async with worker_for(client, settings) as replacement, replacement:
        final = await handle.result()
    assert final.status == S.PUBLISHED
    [at] = await received(live)
    assert at >= due.timestamp()
    outcomes = [a.outcome for a in await live.attempts(target.id)]
    assert outcomes == ["confirmed"]
