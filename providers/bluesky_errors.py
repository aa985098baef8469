"""How XRPC error answers are read (docs/platforms.md §7), kept apart from providers/bluesky.py
because it is a job of its own, and one that signing in shares: the PDS answers
`{"error": name, "message": ...}`, whose name says more than the HTTP status (an expired access
token comes back as a 400), and names when a rate limit refills in `ratelimit-reset` rather
than Retry-After. `ERRORS` turns all of that into crier's error taxonomy for every call the
provider makes, and `xrpc_error` does the same for providers/connect/bluesky.py's sessions, so
neither needs the other to read an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

from providers.errors import AuthError, ProviderError, RateLimitedError, retry_after
from providers.kit.error_table import ErrorTable, Problem, json_body


def read_xrpc(response: httpx.Response) -> Problem:
    """XRPC's `{"error": name, "message": ...}`."""
    body = json_body(response)
    if not isinstance(body, dict):
        return Problem()  # not XRPC's shape (a proxy's page, an empty 503)
    name = str(body.get("error") or "") or None
    return Problem(str(body.get("message") or name or "") or None, name)


def until_reset(headers: Mapping[str, str]) -> timedelta | None:
    """`ratelimit-reset` is the epoch second the window refills; fall back to Retry-After."""
    raw = headers.get("ratelimit-reset", "")
    if raw.strip().isdigit():
        return max(datetime.fromtimestamp(int(raw), UTC) - datetime.now(UTC), timedelta(0))
    return retry_after(headers)


# XRPC error names say more than the status: an expired access token comes back as HTTP 400
# `ExpiredToken`, which the status alone would call a content error. A 403 is AuthError by
# the table's default: the token works but may not do this (an app password without scope).
ERRORS = ErrorTable(
    platform="bluesky",
    read=read_xrpc,
    codes={
        "ExpiredToken": AuthError,
        "InvalidToken": AuthError,
        "AuthenticationRequired": AuthError,
        "AccountTakedown": AuthError,
        "RateLimitExceeded": RateLimitedError,
    },
    wait=until_reset,
)


def xrpc_error(response: httpx.Response) -> ProviderError:
    return ERRORS.error(response)
