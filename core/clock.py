"""The clock a publish waiting in a worker reads until its time (activities/publishing.py).

In production it is the wall clock, which Temporal's server and every worker share. Tests on
Temporal's time-skipping server hand the worker that server's clock instead
(tests/support/harness.py), so a publish woken a lead ahead of a time weeks away waits in
skipped time, on the path production takes, rather than for weeks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from core.db import utcnow


class Clock(Protocol):
    async def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    async def now(self) -> datetime:
        return utcnow()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
