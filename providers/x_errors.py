"""How X's error answers are read (docs/platforms.md §5), kept apart from providers/x.py because
it is a job of its own: X's API v2 answers problem+JSON (or the legacy `errors[]`), says a
refused tweet and a missing permission with the same 403, told apart only by the detail's
words, and names when a limit refills in several families of `x-*-reset` headers rather than
Retry-After. `ERRORS` turns all of that into crier's error taxonomy for every call the provider
makes, so the provider itself only says what to post and how to find it again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta

import httpx

from providers.errors import ContentError, ProviderError
from providers.kit.error_table import ErrorTable, Problem, json_body

# X answers 403 both for a missing permission and for a refused tweet; only the detail tells
# them apart. Its other 403s ("Unsupported Authentication", client-forbidden, "You are not
# permitted to perform this action") mean the token cannot do this: AuthError.
DUPLICATE_DETAIL = "duplicate content"
# A reply to a tweet that is gone or hidden from the user: 403 too, and a refusal of the part.
GONE_PARENT_DETAIL = "reply to a Tweet that is deleted or not visible"
# Each family's `-remaining` and `-reset` (epoch seconds); X sends no Retry-After.
RATE_LIMIT_HEADERS = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")


def read_problem(response: httpx.Response) -> Problem:
    """The message and problem type of X's problem+JSON (or legacy `errors[]`) body."""
    problem = json_body(response)
    try:
        errors = problem.get("errors") or [{}]
        message = errors[0].get("message") or problem.get("detail") or problem["title"]
        kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    except (KeyError, TypeError, AttributeError, IndexError):
        return Problem()
    return Problem(str(message), kind if kind and kind != "about:blank" else None)


def rate_limit_reset(headers: Mapping[str, str], *, now: float | None = None) -> timedelta | None:
    """Until the latest reset among the exhausted limits (the 15-minute window or a daily cap)."""
    exhausted = [
        headers[f"{family}-reset"]
        for family in RATE_LIMIT_HEADERS
        if headers.get(f"{family}-remaining") == "0" and f"{family}-reset" in headers
    ]
    resets = [
        int(raw) for raw in exhausted or [headers.get("x-rate-limit-reset", "")] if raw.isdigit()
    ]
    if not resets:
        return None
    return timedelta(seconds=max(max(resets) - (time.time() if now is None else now), 0))


ERRORS = ErrorTable(
    platform="x",
    read=read_problem,
    phrases={DUPLICATE_DETAIL: ContentError, GONE_PARENT_DETAIL: ContentError},
    wait=rate_limit_reset,
)


def x_error(response: httpx.Response) -> ProviderError:
    return ERRORS.error(response)
