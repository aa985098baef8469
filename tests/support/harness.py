"""Everything a workflow test drives: the time-skipping server with a worker on it, the
database, and the sandbox's control API, behind one object."""

from __future__ import annotations

import asyncio
import os
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.services.scheduling import TargetHandle
from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.messages.delivery import TargetState
from core.models import Attempt, Notification, Post, Target
from core.status import Platform, TargetStatus
from tests.support.deliveries import start_delivery
from tests.support.factories import make_account, make_post, make_tenant, reload_target
from tests.support.server_clock import TestServerClock
from workflows.publish_target import PublishTargetWorkflow

REPO = Path(__file__).parent.parent.parent
HISTORIES = REPO / "tests" / "histories"


@dataclass
class Harness:
    env: WorkflowEnvironment
    settings: Settings
    db: Database
    sandbox: httpx.AsyncClient
    _worker: AsyncExitStack | None = None

    async def start_worker(self) -> None:
        """A real worker on this test's task queue (the fixture starts one)."""
        assert self._worker is None, "the worker is already running"
        stack = AsyncExitStack()
        clock = TestServerClock(self.env) if self.env.supports_time_skipping else None
        worker = await stack.enter_async_context(
            worker_for(self.env.client, self.settings, clock=clock)
        )
        await stack.enter_async_context(worker)
        self._worker = stack

    async def stop_worker(self) -> None:
        """Stop polling, as a crashed or redeployed worker would."""
        if self._worker is not None:
            await self._worker.aclose()
            self._worker = None

    async def schedule(
        self,
        *,
        after: timedelta | None,
        body: str = "Hello from a test",
        token: str | None = None,
        platform: Platform = Platform.FACEBOOK,
        account_id: str = "200000000000001",
        **post_options: Any,
    ) -> tuple[Target, TargetHandle]:
        """A new tenant, sandbox account and post, scheduled `after` from now (None: at once).

        `post_options` go to `make_post` (requires_approval, approval_deadline, mode, ...)."""
        tenant = await make_tenant(self.db)
        account = await make_account(
            self.db, self.settings, tenant, platform, account_id, token=token
        )
        post, target = await make_post(self.db, tenant, account, body=body, **post_options)
        due = None if after is None else await self.env.get_current_time() + after
        return target, await self.start(post, target, due=due)

    async def start(
        self, post: Post, target: Target, *, due: datetime | None = None
    ) -> TargetHandle:
        """Save the post and the target and start its delivery. The handle start_workflow
        returns is the one whose result() lets time skip."""
        return await start_delivery(self.db, self.env.client, self.settings, post, target, due=due)

    async def result(self, workflow_id: str) -> TargetState:
        """Wait for a target's workflow to end, letting time skip meanwhile.

        Only handles returned by start_workflow skip time by themselves; this works for any."""
        handle = self.env.client.get_workflow_handle_for(PublishTargetWorkflow.run, workflow_id)
        unlocked = getattr(self.env, "time_skipping_unlocked", None)
        if unlocked is None:  # a real server: time passes by itself
            return await handle.result()
        async with unlocked():
            return await handle.result()

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def notifications(self, target_id: str) -> list[Notification]:
        async with self.db.session() as session:
            rows = await session.exec(
                select(Notification).where(Notification.target_id == target_id)
            )
            return list(rows.all())

    async def target(self, target_id: str) -> Target:
        return await reload_target(self.db, target_id)

    async def target_becomes(
        self, target_id: str, status: TargetStatus, *, within: float = 10.0
    ) -> Target:
        """Wait (in real time) until the database shows the target in `status`."""
        deadline = asyncio.get_running_loop().time() + within
        while (target := await self.target(target_id)).status != status:
            assert asyncio.get_running_loop().time() < deadline, (
                f"target still {target.status.value}, not {status.value}, after {within} s"
            )
            await asyncio.sleep(0.02)
        return target

    async def attempts(self, target_id: str) -> list[Attempt]:
        async with self.db.session() as session:
            rows = await session.exec(
                select(Attempt).where(Attempt.target_id == target_id).order_by(col(Attempt.number))
            )
            return list(rows.all())

    async def posts(self, platform: Platform = Platform.FACEBOOK) -> list[dict[str, Any]]:
        """What the sandbox received for `platform`."""
        response = await self.sandbox.get("/_control/posts", params={"platform": platform.value})
        posts: list[dict[str, Any]] = response.json()["data"]
        return posts

    async def inject(self, **fault: object) -> None:
        (await self.sandbox.post("/_control/faults", json=fault)).raise_for_status()

    async def keep_history(self, handle: WorkflowHandle[Any, Any], name: str) -> None:
        await keep_history(handle, name)


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With CRIER_RECORD_HISTORIES=<release>, save this run's history for the replay tests,
    in tests/histories/<release>/ (tests/support/histories.py).

    Re-record only on purpose: a saved history is the promise that workflows already
    running in production still replay after a change.
    """
    release = os.environ.get("CRIER_RECORD_HISTORIES")
    if release:
        history = (await handle.fetch_history()).to_json()
        folder = HISTORIES / release
        folder.mkdir(exist_ok=True)
        # Stack traces name this checkout's absolute path; keep them relative.
        (folder / f"{name}.json").write_text(history.replace(f"{REPO}/", ""))
