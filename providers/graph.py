"""What Facebook, Instagram and Threads share: the Graph API's error table, its OAuth header,
and the paged lookup of an account's recent posts (or a post's comments) that finds one whose
publish answer was lost.

Branch on `code`, not the HTTP status: Graph answers 400 for most errors and sometimes 403 for
throttling (Graph API error-handling guide).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from providers.base import Credentials, NotCheckable, Published
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)
from providers.kit.error_table import ErrorKind, ErrorTable, Problem
from providers.kit.pages import Page, walk

CODES: dict[str, ErrorKind] = {
    **dict.fromkeys(("1", "2"), TransientError),
    **dict.fromkeys(("4", "17", "32", "341", "613", "80001"), RateLimitedError),
    **dict.fromkeys(("102", "190", "3", "10", *map(str, range(200, 300))), AuthError),
}


@dataclass(frozen=True)
class GraphProblem(Problem):
    """Graph's error object: its code (`code` is "code/subcode"), and what it adds to it."""

    number: int = 0
    subcode: Any = None
    transient: bool = False  # Graph's own is_transient


def read_problem(response: httpx.Response) -> Problem:
    try:
        error = response.json()["error"]
        number = int(error.get("code", 0))
        subcode = error.get("error_subcode")
        message = str(error.get("error_user_msg") or error.get("message") or "unknown error")
    except (ValueError, KeyError, TypeError):
        return Problem()  # not Graph's shape (a proxy's page, an empty 503): the status decides
    label = f"{number}/{subcode}" if subcode else str(number)
    transient = bool(error.get("is_transient"))
    return GraphProblem(message, label, number=number, subcode=subcode, transient=transient)


def regain_access_after(headers: Mapping[str, str]) -> timedelta | None:
    """Minutes until the business-use-case budget refills, if Graph told us."""
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = max(
            int(entry.get("estimated_time_to_regain_access", 0))
            for entries in usage.values()
            for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return timedelta(minutes=minutes) if minutes > 0 else None


@dataclass(frozen=True)
class GraphErrors(ErrorTable):
    """Graph's table, plus the subcodes one product adds to it. Its order is Graph's own, since
    the code outranks the status: a rate limit (subcode, code or 429), then a transient code,
    subcode or is_transient, then the code's kind (even on a 5xx), then 5xx transient, else
    content (a 401 or 403 included). A body not in Graph's shape gets the kit's order."""

    read: Callable[[httpx.Response], Problem] = read_problem
    codes: Mapping[str, ErrorKind] = field(default_factory=lambda: CODES)
    transient_subcodes: frozenset[int] = frozenset()
    rate_limit_subcodes: frozenset[int] = frozenset()
    # How long a subcode-announced quota (a daily publishing cap, say) takes to refill.
    quota_window: timedelta | None = None

    def kind(self, status: int, problem: Problem) -> ErrorKind:
        if not isinstance(problem, GraphProblem):
            return super().kind(status, problem)
        named = self.codes.get(str(problem.number))
        if (
            problem.subcode in self.rate_limit_subcodes
            or named is RateLimitedError
            or status == 429
        ):
            return RateLimitedError
        transient = problem.subcode in self.transient_subcodes or problem.transient
        if named is TransientError or transient:
            return TransientError
        if named is not None:
            return named
        return TransientError if status >= 500 else ContentError

    def classify(self, status: int, headers: Mapping[str, str], problem: Problem) -> ProviderError:
        if (
            not isinstance(problem, GraphProblem)
            or self.kind(status, problem) is not RateLimitedError
        ):
            return super().classify(status, headers, problem)
        if problem.subcode in self.rate_limit_subcodes:
            wait = self.quota_window
        else:
            wait = regain_access_after(headers) or retry_after(headers)
        return RateLimitedError(
            problem.message or f"HTTP {status}",
            platform=self.platform,
            code=problem.code,
            http_status=status,
            retry_after=wait,
        )


# Instagram and Threads: Meta fetches a container's media itself; its URL says which it is.
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")


def is_video(url: str) -> bool:
    return url.lower().split("?", 1)[0].endswith(VIDEO_SUFFIXES)


def oauth(account: Credentials) -> dict[str, str]:
    """The token in a header, never in a URL that a proxy or a log could keep."""
    return {"Authorization": f"OAuth {account.access_token}"}


# Finding a post whose publish answer was lost ----------------------------------------------

# A lookup reads an account's recent posts, newest first, page by page along Graph's `after`
# cursors, and stops at this many: past them it cannot tell, so it says so (NotCheckable)
# rather than guess "not there" and post a second time. Read at call time, so tests can
# shrink them.
LOOKUP_PAGE_SIZE = 50
LOOKUP_MAX_PAGES = 10

# One page of an edge: the provider's own authenticated GET, given the paging parameters.
Fetch = Callable[[dict[str, str]], Awaitable[dict[str, Any]]]


def unix_seconds(moment: datetime) -> int:
    """Graph's `since`: whole unix seconds, rounded down so that `moment` itself is included."""
    return math.floor(_aware(moment).timestamp())


def graph_time(value: object) -> datetime | None:
    """A Graph timestamp ("2019-05-17T16:24:04+0000"), or None if it is not one."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


async def earliest_match(
    fetch: Fetch,
    *,
    since: datetime,
    time_field: str,
    matches: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any] | None:
    """The earliest item of an edge created at or after `since` for which `matches` holds.

    The edge is asked for items `since` then, and each item's own creation time is checked
    too: Graph applies `since` to some edges by their updated time. Items come newest first,
    so the last match read is the earliest, the one the lost attempt most likely made.
    """
    since = _aware(since)

    async def read(after: str | None) -> Page[dict[str, Any]]:
        params = {"since": str(unix_seconds(since)), "limit": str(LOOKUP_PAGE_SIZE)}
        page = await fetch(params | ({"after": after} if after else {}))
        paging = page.get("paging") or {}
        cursor = (paging.get("cursors") or {}).get("after")
        return Page(page.get("data") or [], cursor if paging.get("next") else None)

    found: dict[str, Any] | None = None
    beyond = (
        f"more than {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} {what} since the attempt began, "
        "too many to look through"
    )
    try:
        async for item in walk(read, max_pages=LOOKUP_MAX_PAGES, beyond=beyond):
            created = graph_time(item.get(time_field))
            if created is not None and created >= since and matches(item):
                found = item
    except NotCheckable:
        if found is None:
            raise
        # The post is live; an even earlier twin would change only which id.
    return found


def _aware(moment: datetime) -> datetime:
    # The ledger's times are UTC; a database that drops the zone must not shift them.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def published_from_container(
    container: str | None,
    container_status: Callable[[str], Awaitable[Any]],
    listing: Fetch,
    *,
    since: datetime,
    matches: Callable[[dict[str, Any]], bool],
    what: str,
) -> Published | None:
    """What a lost publish of a container made (Instagram, Threads).

    A container whose status is not PUBLISHED was never taken: nothing to find. Otherwise the
    account's recent `what` are searched; a PUBLISHED container whose post is not listed yet
    cannot be settled either way.
    """
    if container is not None and await container_status(container) != "PUBLISHED":
        return None  # FINISHED (or expired, failed): the publish call never took it
    item = await earliest_match(
        listing, since=since, time_field="timestamp", matches=matches, what=what
    )
    if item is not None:
        url = item.get("permalink")
        return Published(external_id=str(item["id"]), url=str(url) if url else None)
    if container is not None:
        raise NotCheckable(f"container {container} is PUBLISHED, but no recent {what} matches it")
    return None


# First comments (Facebook, Instagram) -------------------------------------------------------


def own_comment(account_id: str, text: str, text_field: str) -> Callable[[dict[str, Any]], bool]:
    """Whether a listed comment is the account's own (its `from.id`) with exactly `text` (Graph
    calls it `message` on Facebook, `text` on Instagram)."""

    def matches(comment: dict[str, Any]) -> bool:
        author = comment.get("from") or {}
        return str(author.get("id")) == account_id and comment.get(text_field) == text

    return matches
