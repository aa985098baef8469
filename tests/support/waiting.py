"""Waiting in a test for something to happen: ask again until it has, up to a deadline.

A fixed sleep guesses how long something takes: too short on a loaded machine (the test
fails for nothing), too long everywhere else (the suite crawls), and it never says what it
waited for. These wait exactly as long as the thing takes and name it when it never comes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

EVERY = 0.05  # between two looks: short beside anything a test waits for


async def eventually(
    check: Callable[[], Awaitable[T]], *, what: str, within: float = 30, every: float = EVERY
) -> T:
    """The first truthy answer of `check`; fails naming `what` after `within` seconds.

    `within` is how long something may take on a loaded machine before the test calls it
    broken, never an expectation of speed: an answer that comes sooner returns sooner."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        answer = await check()
        if answer:
            return answer
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(every)


async def until_past(moment: datetime) -> None:
    """Until the wall clock is past `moment`: for tests whose subject is a time passing
    (a due time, a grace period) with something down, where the clock is the condition."""
    # Again after waking: the event loop's clock is not the wall clock, and may wake a tick
    # early. Nothing else can say when the time has come, so no Event can replace this loop.
    while (left := (moment - datetime.now(UTC)).total_seconds()) >= 0:  # noqa: ASYNC110
        await asyncio.sleep(left + 0.001)
