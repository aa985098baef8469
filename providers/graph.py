"""What Facebook, Instagram and Threads share: the Graph API's error shape and codes.

Branch on `code`, not the HTTP status: Graph answers 400 for most errors and sometimes 403 for
throttling (Graph API error-handling guide).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

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
