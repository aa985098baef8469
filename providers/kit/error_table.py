"""The one shape of a provider's error table: an answer that is not a success → the taxonomy.

A provider states its table at the top of its module: how to read its error body (`read`),
its own error codes and message phrases that say more than the status does, statuses whose
meaning differs from the default, and how it says when to come back (`wait`). The order the
table is applied in is the same for every platform:

1. HTTP 429, or a code the table calls RateLimitedError: rate limited, with `wait`'s delay;
2. any 5xx: transient (a gateway may have passed the request on: `maybe_sent`);
3. the platform's code, else the first phrase found in its message;
4. the table's own entry for the status;
5. 401 and 403: auth; any other status: content.

`codes_beat_5xx` swaps 2 and 3 for a platform whose own code outranks a 5xx; `waits` gives a
rate-limit code its own delay (a daily quota resets at midnight, not after Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
    retry_after,
)

ErrorKind = type[ProviderError]


@dataclass(frozen=True)
class Problem:
    """What a platform's error body says; None where it says nothing (an empty 503)."""

    message: str | None = None
    code: str | None = None


def unread(response: httpx.Response) -> Problem:
    """For a platform whose error bodies say nothing the status does not."""
    return Problem()


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it is not JSON (a proxy's page, an empty body)."""
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class ErrorTable:
    platform: str
    read: Callable[[httpx.Response], Problem] = unread
    codes: Mapping[str, ErrorKind] = field(default_factory=dict)
    # Substrings of the message, for platforms that say what went wrong only in words.
    phrases: Mapping[str, ErrorKind] = field(default_factory=dict)
    statuses: Mapping[int, ErrorKind] = field(default_factory=dict)
    wait: Callable[[Mapping[str, str]], timedelta | None] = retry_after
    # A rate-limit code's own wait where it says more than `wait` (a daily quota: midnight).
    waits: Mapping[str, Callable[[Mapping[str, str]], timedelta | None]] = field(
        default_factory=dict
    )
    # The platform's code decides even on a 5xx (step 3 before step 2), for a platform whose
    # code is surer than its status (TikTok's error.code, YouTube's reason, LinkedIn's
    # serviceErrorCode); a 5xx without a listed code stays transient.
    codes_beat_5xx: bool = False

    def error(self, response: httpx.Response) -> ProviderError:
        return self.classify(response.status_code, response.headers, self.read(response))

    def classify(self, status: int, headers: Mapping[str, str], problem: Problem) -> ProviderError:
        """For a platform that reports failures inside a success (TikTok's `error.code`) too."""
        kind = self.kind(status, problem)
        message = problem.message or f"HTTP {status}"
        common: dict[str, Any] = {
            "platform": self.platform,
            "code": problem.code,
            "http_status": status,
        }
        if kind is RateLimitedError:
            wait = self.waits.get(problem.code or "", self.wait)
            return RateLimitedError(message, retry_after=wait(headers), **common)
        return kind(message, **common)

    def kind(self, status: int, problem: Problem) -> ErrorKind:
        named = self.codes.get(problem.code) if problem.code else None
        if named is None and problem.message:
            found = (kind for phrase, kind in self.phrases.items() if phrase in problem.message)
            named = next(found, None)
        if status == 429 or named is RateLimitedError:
            return RateLimitedError
        if named is not None and self.codes_beat_5xx:
            return named
        if status >= 500:
            return TransientError
        if named is not None:
            return named
        if status in self.statuses:
            return self.statuses[status]
        if status in (401, 403):
            return AuthError
        return ContentError
