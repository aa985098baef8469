"""Publishing through the first aggregator that can, in the order the caller gives.

The seed's order is the tenant's PostForMe key, the tenant's LATE key, then the deployment's
PostForMe and LATE keys; the caller builds the candidates, so this module knows no keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from providers.base import PostContent, Preparation, Published, Readiness
from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
)

# The code an aggregator provider puts on a TransientError when the request may have reached
# the aggregator but no answer came back (a read timeout, a dropped connection): on the
# publish call, the post may exist.
ANSWER_LOST = "answer_lost"

# A refused request never reached a post, so another aggregator may try. ContentError is left
# out: the same content would be refused everywhere, and a 4xx that some aggregator returns
# after accepting part of the post would let a second aggregator post it twice.
FAIL_OVER_ON: tuple[type[ProviderError], ...] = (AuthError, TransientError, RateLimitedError)


class Aggregator(Protocol):
    name: ClassVar[str]

    async def prepare(
        self, account_ref: str, platform: str, content: PostContent
    ) -> Preparation: ...

    async def check(self, account_ref: str, platform: str, prepared: Preparation) -> Readiness: ...

    async def publish(
        self, account_ref: str, platform: str, content: PostContent, prepared: Preparation
    ) -> Published: ...


@dataclass(frozen=True)
class AggregatorCandidate:
    provider: Aggregator
    account_ref: str  # the aggregator's own id for the platform account
    label: str  # "tenant:postforme": says whose key delivered, never the key itself


async def publish_with_failover(
    candidates: Sequence[AggregatorCandidate], platform: str, content: PostContent
) -> tuple[Published, str]:
    """The post as published and the label of the candidate that published it.

    Raises a ContentError or a lost publish answer at once (see FAIL_OVER_ON, ANSWER_LOST);
    when every candidate fails otherwise, the last error, its message listing every failure.
    """
    if not candidates:
        raise ContentError("no aggregator candidates", platform=platform)
    failures: list[str] = []
    last: ProviderError | None = None
    for candidate in candidates:
        provider, ref = candidate.provider, candidate.account_ref
        try:
            prepared = await provider.prepare(ref, platform, content)
            readiness = await provider.check(ref, platform, prepared)
            if readiness.state != "ready":
                raise TransientError(
                    f"media not ready: {readiness.reason or readiness.state}", platform=platform
                )
        except FAIL_OVER_ON as exc:
            failures.append(f"{candidate.label}: {exc.kind}: {exc.summary()}")
            last = exc
            continue
        try:
            published = await provider.publish(ref, platform, content, prepared)
        except FAIL_OVER_ON as exc:
            if isinstance(exc, TransientError) and exc.code == ANSWER_LOST:
                # The aggregator may have posted and only the answer was lost: trying the next
                # one could post twice, so a person (or a later reconciliation) must decide.
                raise
            failures.append(f"{candidate.label}: {exc.kind}: {exc.summary()}")
            last = exc
            continue
        return published, candidate.label
    assert last is not None  # the loop ran at least once and every pass failed
    last.message = f"every aggregator failed: {'; '.join(failures)}"
    last.args = (last.message,)
    raise last
