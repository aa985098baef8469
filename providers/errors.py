"""The one error taxonomy every provider maps its platform's failures into.

The workflow's retry policy is written against these four kinds, never against a platform's
own codes, so a new platform only needs its mapping table.
"""

from __future__ import annotations

from datetime import timedelta


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
    """5xx, timeouts, connection errors, the platform's "try again" codes: retry with backoff."""

    kind = "transient"


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
