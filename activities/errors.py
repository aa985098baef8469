"""A platform's error, as the workflow sees it: retried or not, and after how long."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from core.config import Settings
from providers.errors import ProviderError, RateLimitedError


def to_application_error(error: ProviderError, settings: Settings) -> ApplicationError:
    non_retryable = error.kind in ("content", "auth")
    next_delay = None
    if isinstance(error, RateLimitedError):
        next_delay = error.retry_after or settings.rate_limit_default_wait
    return ApplicationError(
        error.summary(),
        {"platform": error.platform, "code": error.code, "http_status": error.http_status},
        type=type(error).__name__,
        non_retryable=non_retryable,
        next_retry_delay=next_delay,
    )
