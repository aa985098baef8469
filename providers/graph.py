"""What Facebook, Instagram and Threads share: the Graph API's error shape and codes, and the
paged lookup of an account's recent posts that finds a post whose publish answer was lost.

Branch on `code`, not the HTTP status: Graph answers 400 for most errors and sometimes 403 for
throttling (Graph API error-handling guide).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from providers.base import NotCheckable, Published
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    from_http_status,
    retry_after,
)

TRANSIENT_CODES = frozenset({1, 2})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001})
AUTH_CODES = frozenset({102, 190, 3, 10, *range(200, 300)})


@dataclass(frozen=True)
class GraphErrors:
    """Graph's error table, plus the subcodes one product adds to it."""

    platform: str
    transient_subcodes: frozenset[int] = frozenset()
    rate_limit_subcodes: frozenset[int] = frozenset()
    # How long a subcode-announced quota (a daily publishing cap, say) takes to refill.
    quota_window: timedelta | None = None

    def classify(self, response: httpx.Response) -> ProviderError:
        try:
            error = response.json()["error"]
            code = int(error.get("code", 0))
            subcode = error.get("error_subcode")
            message = str(error.get("error_user_msg") or error.get("message") or "unknown error")
        except (ValueError, KeyError, TypeError):
            # Not Graph's shape (a proxy's page, an empty 503): the HTTP status is all there is.
            return from_http_status(response.status_code, response.headers, platform=self.platform)
        label = f"{code}/{subcode}" if subcode else str(code)
        common: dict[str, Any] = {
            "platform": self.platform,
            "code": label,
            "http_status": response.status_code,
        }
        if subcode in self.rate_limit_subcodes:
            return RateLimitedError(message, retry_after=self.quota_window, **common)
        if code in RATE_LIMIT_CODES or response.status_code == 429:
            wait = _regain_access_after(response) or retry_after(response.headers)
            return RateLimitedError(message, retry_after=wait, **common)
        transient = code in TRANSIENT_CODES or subcode in self.transient_subcodes
        if transient or error.get("is_transient"):
            return TransientError(message, **common)
        if code in AUTH_CODES:
            return AuthError(message, **common)
        if response.status_code >= 500:
            return TransientError(message, **common)
        return ContentError(message, **common)


def _regain_access_after(response: httpx.Response) -> timedelta | None:
    """Minutes until the business-use-case budget refills, if Graph told us."""
    raw = response.headers.get("x-business-use-case-usage")
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
    found: dict[str, Any] | None = None
    after: str | None = None
    for _ in range(LOOKUP_MAX_PAGES):
        params = {"since": str(unix_seconds(since)), "limit": str(LOOKUP_PAGE_SIZE)}
        page = await fetch(params | ({"after": after} if after else {}))
        for item in page.get("data") or []:
            created = graph_time(item.get(time_field))
            if created is not None and created >= since and matches(item):
                found = item
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return found
    if found is not None:
        return found  # the post is live; an even earlier twin would change only which id
    raise NotCheckable(
        f"more than {LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE} {what} since the attempt began, "
        "too many to look through"
    )


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
