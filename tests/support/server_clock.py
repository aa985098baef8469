"""The time-skipping server's clock, for a publish waiting in the worker (core/clock.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio.testing import WorkflowEnvironment


class TestServerClock:
    """Reads and skips the server's time: a publish woken a lead ahead of a time weeks away
    waits in skipped time, as workflow timers do, instead of for weeks."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self._env = env

    async def now(self) -> datetime:
        return await self._env.get_current_time()

    async def sleep(self, seconds: float) -> None:
        await self._env.sleep(seconds)
