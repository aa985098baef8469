"""Requests per API key and per tenant (S5), counted with `limits` in a store every API process
shares, so N processes allow the configured rate, not N times it.

A refused request is a 429 naming the limit it ran into (the key's or the tenant's), with
`Retry-After` and the `RateLimit-*` headers (IETF draft-ietf-httpapi-ratelimit-headers); an
allowed one carries the `RateLimit-*` headers too, for the limit closest to running out.

When the shared store does not answer (Redis down or slow), each process counts on its own in
memory until it answers again, and says so in the log. Not fail-closed: the limits guard the
API's capacity, and refusing every request while Redis is down would take the API down with
it, which is the outage the limits exist to prevent. Not fully open either: a key hammering
one process is still stopped there, at worst at N times the rate across N processes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError
from core.config import Settings

log = logging.getLogger(__name__)

# How often, at most, the log repeats that the shared store is unreachable.
OUTAGE_LOG_INTERVAL_SECONDS = 60.0
# Where an allowed request's headers wait for its answer (the ASGI scope's state).
HEADERS_STATE_KEY = "rate_limit_headers"


def async_storage_uri(uri: str) -> str:
    """`redis://…` and `memory://` as operators write them, as the async storage `limits`
    wants them (`async+redis://…`)."""
    return uri if uri.startswith("async+") else f"async+{uri}"


@dataclass(frozen=True)
class Standing:
    """Where one limit stands after a request was counted against it."""

    limit: RateLimitItem
    remaining: int
    reset_at: float  # epoch seconds when the oldest counted request leaves the window

    def reset_seconds(self, now: float) -> int:
        return max(1, math.ceil(self.reset_at - now))

    def headers(self, now: float) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit.amount),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(self.reset_seconds(now)),
        }


@dataclass(frozen=True)
class Counted:
    """One kind of limit: whose requests it counts, how it is named in a refusal."""

    kind: str  # "key" or "tenant": part of the counter's name
    named: str  # how the refusal names it
    limits: list[RateLimitItem]


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._prefix = settings.rate_limit_key_prefix
        self._timeout = settings.rate_limit_storage_timeout_seconds
        self._per_key = Counted("key", "this API key's", parse_many(settings.rate_limit_per_key))
        self._per_tenant = Counted(
            "tenant", "this tenant's", parse_many(settings.rate_limit_per_tenant)
        )
        storage = storage_from_string(
            async_storage_uri(settings.rate_limit_storage or "memory://"), wrap_exceptions=True
        )
        if not isinstance(storage, Storage):
            raise ValueError("CRIER_RATE_LIMIT_STORAGE names a store with no async support")
        self._shared = MovingWindowRateLimiter(storage)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._outage_logged_at = -math.inf

    async def charge(self, *, api_key_id: str, tenant_id: str) -> dict[str, str]:
        """Count one request of this key (and its tenant). Refused: an ApiError 429. Allowed:
        the RateLimit-* headers for its answer."""
        try:
            async with asyncio.timeout(self._timeout):
                standings = await self._charge(self._shared, api_key_id, tenant_id)
        except (StorageError, TimeoutError, OSError) as error:
            self._log_outage(error)
            standings = await self._charge(self._local, api_key_id, tenant_id)
        now = time.time()
        tightest = min(standings, key=lambda s: (s.remaining / s.limit.amount, s.reset_at))
        return tightest.headers(now)

    async def _charge(
        self, limiter: MovingWindowRateLimiter, api_key_id: str, tenant_id: str
    ) -> list[Standing]:
        standings = []
        for scope, who in ((self._per_key, api_key_id), (self._per_tenant, tenant_id)):
            for limit in scope.limits:
                allowed = await limiter.hit(limit, self._prefix, scope.kind, who)
                stats = await limiter.get_window_stats(limit, self._prefix, scope.kind, who)
                standing = Standing(limit, stats.remaining, stats.reset_time)
                if not allowed:
                    raise _refusal(scope, standing)
                standings.append(standing)
        return standings

    def _log_outage(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._outage_logged_at >= OUTAGE_LOG_INTERVAL_SECONDS:
            self._outage_logged_at = now
            log.warning(
                "the rate-limit store did not answer (%s): this process counts requests on "
                "its own until it does",
                type(error).__name__,
            )


def _refusal(scope: Counted, standing: Standing) -> ApiError:
    now = time.time()
    headers = standing.headers(now) | {"Retry-After": str(standing.reset_seconds(now))}
    limit = standing.limit
    unit = limit.GRANULARITY.name
    per = f"{limit.multiples} {unit}s" if limit.multiples > 1 else unit
    return ApiError(
        429,
        "rate_limited",
        f"{scope.named} rate limit ({limit.amount} requests per {per}) is spent: "
        f"try again in {headers['Retry-After']} s",
        headers=headers,
    )


def remember_headers(request: Request, headers: dict[str, str]) -> None:
    """Keep an allowed request's headers where RateLimitHeaders finds them for its answer."""
    setattr(request.state, HEADERS_STATE_KEY, headers)


class RateLimitHeaders:
    """Adds an allowed request's RateLimit-* headers to its answer (pure ASGI, so a streamed
    answer gets them too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = scope.get("state", {}).get(HEADERS_STATE_KEY)
                if found:
                    headers = MutableHeaders(scope=message)
                    for name, value in found.items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
