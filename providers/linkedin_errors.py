"""How LinkedIn's error answers are read (docs/platforms.md §4), kept apart from
providers/linkedin.py because it is a job of its own: LinkedIn answers `{message,
serviceErrorCode}`, names the live post in a 422 duplicate (so a retry can recover it rather
than post again), marks an authorization that must be renewed by service codes even on a 5xx,
and sends no Retry-After for its daily quotas, which reset at midnight UTC. `ERRORS` turns that
into crier's error taxonomy for every call the provider (and its connector) makes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

from providers.errors import AuthError, ProviderError, retry_after
from providers.kit.error_table import ErrorTable, Problem, json_body

# The 422 duplicate names the live post, so the caller can recover it instead of reposting.
DUPLICATE = re.compile(r"duplicate of (urn:li:[A-Za-z]+:[\w-]+)")


def read_problem(response: httpx.Response) -> Problem:
    """LinkedIn's `{message, serviceErrorCode | code}`; a 422 duplicate names the live post."""
    error = json_body(response)
    try:
        message = str(error["message"])
        code = error.get("serviceErrorCode") or error.get("code")
    except (KeyError, TypeError, AttributeError):
        return Problem("rate limited" if response.status_code == 429 else None)
    if response.status_code == 422 and (duplicate := DUPLICATE.search(message)):
        return Problem(f"duplicate of the live post {duplicate.group(1)}", "DUPLICATE")
    return Problem(message, str(code) if code is not None else None)


def until_midnight_utc(headers: Mapping[str, str]) -> timedelta:
    """No Retry-After and no rate-limit headers: daily quotas reset at midnight UTC."""
    if wait := retry_after(headers):
        return wait
    now = datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0) - now


# serviceErrorCode 65600-65602 (a 401's, even on a 5xx): a person must authorize again.
ERRORS = ErrorTable(
    platform="linkedin",
    read=read_problem,
    codes=dict.fromkeys(("65600", "65601", "65602"), AuthError),
    wait=until_midnight_utc,
    codes_beat_5xx=True,
)


def linkedin_error(response: httpx.Response) -> ProviderError:
    return ERRORS.error(response)
