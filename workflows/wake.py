"""Durable waits for the delivery workflow: a timer an update can cut short.

Shaped like the Temporal samples' updatable timer (`updatable_timer_lib.py`): the sleeper waits
for its time or for a poke, whichever comes first. Unlike the sample it does not loop on a
poke: the run re-reads its state after every wake, because a poke may mean "moved", "cancelled"
or "publish now", and the state diagram (workflows/publish_target.py) decides what follows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def wait(condition: Callable[[], bool], *, until: datetime | None) -> None:
    """Until `condition` holds or the clock reaches `until` (None: no deadline). A time
    already past returns at once, without a timer."""
    if until is None:
        await workflow.wait_condition(condition)
        return
    remaining = until - workflow.now()
    if remaining <= timedelta(0):
        return
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(condition, timeout=remaining)


class Wake:
    """A sleep until a time that an update may move or cut short (`poke`)."""

    def __init__(self) -> None:
        self._poked = False

    def poke(self) -> None:
        """The time moved, or the course changed: the sleeper wakes and looks again."""
        self._poked = True

    async def sleep_until(self, until: datetime | None) -> None:
        self._poked = False
        await wait(lambda: self._poked, until=until)
