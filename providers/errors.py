"""The one error taxonomy every provider maps its platform's failures into.

The workflow's retry policy is written against these four kinds, never against a platform's
own codes, so a new platform only needs its mapping table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


class ProviderError(Exception):
    kind = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.code = code
        self.http_status = http_status

    def summary(self) -> str:
        code = f" (code {self.code})" if self.code else ""
        return f"{self.platform}: {self.message}{code}"


class TransientError(ProviderError):
    """5xx, timeouts, connection errors, the platform's "try again" codes: retry with backoff.

    `maybe_sent` says whether the platform may have acted on the request anyway: a timeout
    after the request went out, a dropped answer, a 5xx from a gateway. Only a connection
    that never opened is known not to have sent anything. Before a publish that failed this
    way is tried again, the platform is asked whether the post exists (reconciliation).
    """

    kind = "transient"

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        code: str | None = None,
        http_status: int | None = None,
        maybe_sent: bool = True,
    ) -> None:
        super().__init__(message, platform=platform, code=code, http_status=http_status)
        self.maybe_sent = maybe_sent


class RateLimitedError(ProviderError):
    """The platform throttled us: retry once its window resets."""

    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message, platform=platform, code=code, http_status=http_status)
        self.retry_after = retry_after


class ContentError(ProviderError):
    """The platform refused this content (too long, duplicate, bad media): never retried."""

    kind = "content"


class AuthError(ProviderError):
    """The token is expired, revoked or lacks a permission: retrying cannot help."""

    kind = "auth"


def retry_after(headers: Mapping[str, str]) -> timedelta | None:
    """The standard Retry-After header, in seconds or as an HTTP date."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    if raw.strip().isdigit():
        return timedelta(seconds=int(raw))
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when - datetime.now(UTC), timedelta(0))


def from_http_status(
    status: int, headers: Mapping[str, str], *, platform: str, message: str | None = None
) -> ProviderError:
    """The taxonomy by HTTP status alone, for answers without a platform error body."""
    text = message or f"HTTP {status}"
    if status == 429:
        return RateLimitedError(
            text, platform=platform, http_status=status, retry_after=retry_after(headers)
        )
    if status >= 500:
        return TransientError(text, platform=platform, http_status=status)
    if status in (401, 403):
        return AuthError(text, platform=platform, http_status=status)
    return ContentError(text, platform=platform, http_status=status)
