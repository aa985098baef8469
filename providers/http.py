"""Sending one request to a platform: no answer at all becomes a TransientError.

Every provider sends through here, so there is one place that decides what a timeout or a
dropped connection means (issue 6 will tell "never sent" from "sent, answer lost" here).
"""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from providers.errors import TransientError


async def answered(platform: str, request: Awaitable[httpx.Response]) -> httpx.Response:
    try:
        return await request
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {type(exc).__name__}", platform=platform) from exc
    except httpx.TransportError as exc:
        raise TransientError(f"connection failed: {type(exc).__name__}", platform=platform) from exc
