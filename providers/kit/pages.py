"""The one pager for reconciliation lookups: read pages until the last, a stop, or the cap.

A lookup that would read past its cap raises NotCheckable: crier cannot tell whether the post
went out, and the target ends `unconfirmed` rather than risk posting twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from providers.base import NotCheckable

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    cursor: str | None = None  # the next page's cursor, bookmark or token; None: the last


async def walk(
    read: Callable[[str | None], Awaitable[Page[T]]],
    *,
    max_pages: int,
    beyond: str,
    stop: Callable[[Sequence[T]], bool] | None = None,
) -> AsyncIterator[T]:
    """Every item of each page `read(cursor)` gives, in order (the first with cursor None).

    `stop(items)` says the pages after this one cannot hold what is looked for (they are
    older than the attempt, say). Past `max_pages` pages: NotCheckable(beyond).
    """
    cursor: str | None = None
    for _ in range(max_pages):
        page = await read(cursor)
        for item in page.items:
            yield item
        if not page.cursor or (stop is not None and stop(page.items)):
            return
        cursor = page.cursor
    raise NotCheckable(beyond)
