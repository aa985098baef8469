"""What every platform's metrics reader answers, in crier's words.

A reader maps its platform's own metric names onto crier's (`POST_METRICS`, `ACCOUNT_METRICS`)
and says which it offers, so an absent value always means "the platform does not give it",
never zero. docs/platforms.md ("Insights") holds each platform's endpoints and sources.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

import httpx

from core.status import Platform
from providers.base import Credentials

# A post's metrics, in crier's names.
POST_METRICS = (
    "impressions",  # times shown (or views, where the platform counts views instead)
    "reach",  # distinct people shown it
    "likes",  # likes or reactions
    "comments",
    "shares",  # shares, reposts, retweets
    "clicks",
    "saves",
    "video_views",
)
# An account's insights for a day, in crier's names.
ACCOUNT_METRICS = ("followers", "impressions", "reach", "profile_views", "engagements")


@dataclass(frozen=True)
class PostMetrics:
    values: dict[str, int]
    calls: int = 1  # platform calls the reading cost


@dataclass(frozen=True)
class DayInsight:
    day: date
    values: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountInsights:
    days: list[DayInsight]
    calls: int = 1


@dataclass(frozen=True)
class MetricsBudget:
    """The calls crier may spend on a platform's metrics per account in `window`: a share of
    the platform's own limit, so publishing keeps the rest."""

    calls: int
    window: timedelta = timedelta(hours=1)


class MetricsReader(ABC):
    platform: ClassVar[Platform]
    post_metrics: ClassVar[frozenset[str]]  # of POST_METRICS, what this platform gives
    account_metrics: ClassVar[frozenset[str]]  # of ACCOUNT_METRICS
    budget: ClassVar[MetricsBudget]

    @abstractmethod
    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        """Every reader is made alike, from the shared client and the platform's root."""

    @abstractmethod
    async def post(self, account: Credentials, external_id: str) -> PostMetrics:
        """The live post's metrics now."""

    @abstractmethod
    async def account(self, account: Credentials, since: date, until: date) -> AccountInsights:
        """The account's insights for each day from `since` to `until`, both included."""


def only(values: dict[str, int | None], offered: frozenset[str]) -> dict[str, int]:
    """The values a reader offers, as ints; a missing or null value is left out, not zero."""
    return {
        name: int(value) for name, value in values.items() if name in offered and value is not None
    }
