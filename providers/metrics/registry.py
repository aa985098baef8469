"""Which metrics reader serves a platform; a platform without one has no metrics in crier."""

from __future__ import annotations

import httpx

from core.config import Settings
from core.status import Platform
from providers.metrics.base import MetricsReader
from providers.metrics.facebook import FacebookMetrics
from providers.registry import base_url

READERS: dict[Platform, type[MetricsReader]] = {
    Platform.FACEBOOK: FacebookMetrics,
}


def metrics_reader(
    platform: Platform, http: httpx.AsyncClient, settings: Settings, *, sandbox: bool
) -> MetricsReader | None:
    reader = READERS.get(platform)
    if reader is None:
        return None
    return reader(http, base_url(platform, settings, sandbox=sandbox))
