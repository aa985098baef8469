"""Sending one request to a platform: no answer at all becomes a TransientError.

Every provider sends through here, so there is one place that decides what a timeout or a
dropped connection means: a connection that never opened sent nothing; anything later (a read
timeout, a connection dropped mid-answer) may have reached the platform, and says so
(`maybe_sent`), so a publish is reconciled before it is tried again.
"""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from providers.errors import TransientError

# Failures before a single byte of the request left this process.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def answered(platform: str, request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        return await request
    except NEVER_SENT as exc:
        raise TransientError(
            f"could not connect: {type(exc).__name__}", platform=platform, maybe_sent=False
        ) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {type(exc).__name__}", platform=platform) from exc
    except httpx.TransportError as exc:
        raise TransientError(f"connection failed: {type(exc).__name__}", platform=platform) from exc
