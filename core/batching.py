"""Group commit: writes asked for in the same moment share one database transaction.

When a thousand targets fall due in the same second, each publish must write its attempt
before it calls the platform. One transaction each means a thousand commits queued behind one
another (SQLite has a single writer; PostgreSQL still pays a round trip and a flush per
commit). A `Batcher` gathers the calls that arrive while a batch is being written and writes
them as the next batch, so a burst costs a handful of transactions, and a lone call costs one
loop iteration more than writing it directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """Calls `write(items)` with every item submitted since the last batch began.

    `write` returns one result per item, in order. Items with the same `key` never share a
    batch (a later one waits for the next), so a batch never races with itself over a row.
    A batch that fails with an error `fails_alone` says one item could cause is written again
    one item at a time, so one bad item fails alone. Any other error (the database busy or
    gone) fails the whole batch at once: writing its items one by one would only meet the same
    error once per item, while every caller waits. With `keep_abandoned=False`, an item whose
    caller has stopped waiting (its activity timed out) is never written: for a claim or a
    stop nobody would act on.
    """

    def __init__(
        self,
        write: Callable[[list[In]], Awaitable[list[Out]]],
        *,
        key: Callable[[In], Hashable],
        most: int = 1000,
        fails_alone: Callable[[Exception], bool] = lambda error: True,
        keep_abandoned: bool = True,
    ) -> None:
        self._write = write
        self._key = key
        self._most = most
        self._fails_alone = fails_alone
        self._keep_abandoned = keep_abandoned
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            # One turn of the loop lets every caller woken in this same instant join.
            await asyncio.sleep(0)
            batch = self._take()
            if not batch:
                continue
            if len(batch) == 1:
                await self._settle(batch)
                continue
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as error:
                if not self._fails_alone(error):
                    log.warning("a batch of %d writes failed", len(batch), exc_info=True)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                log.warning(
                    "a batch of %d writes failed; writing them one by one",
                    len(batch),
                    exc_info=True,
                )
                for entry in batch:
                    await self._settle([entry])
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def _take(self) -> list[tuple[In, asyncio.Future[Out]]]:
        batch: list[tuple[In, asyncio.Future[Out]]] = []
        rest: list[tuple[In, asyncio.Future[Out]]] = []
        keys: set[Hashable] = set()
        for entry in self._pending:
            if entry[1].done() and not self._keep_abandoned:
                continue  # its caller was cancelled
            key = self._key(entry[0])
            if key in keys or len(batch) >= self._most:
                rest.append(entry)
            else:
                keys.add(key)
                batch.append(entry)
        self._pending = rest
        return batch

    async def _settle(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        [(item, future)] = batch
        try:
            [result] = await self._write([item])
        except Exception as error:
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(result)
