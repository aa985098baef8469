"""Which metrics reader serves a platform; a platform without one has no metrics in crier."""

from __future__ import annotations

import httpx

from core.config import Settings
from core.status import Platform
from providers.metrics.base import MetricsReader
from providers.metrics.bluesky import BlueskyMetrics
from providers.metrics.facebook import FacebookMetrics
from providers.metrics.google_business import GoogleBusinessMetrics
from providers.metrics.instagram import InstagramMetrics
from providers.metrics.linkedin import LinkedInMetrics
from providers.metrics.pinterest import PinterestMetrics
from providers.metrics.threads import ThreadsMetrics
from providers.metrics.tiktok import TikTokMetrics
from providers.metrics.x import XMetrics
from providers.metrics.youtube import YouTubeMetrics
from providers.registry import base_url

READERS: dict[Platform, type[MetricsReader]] = {
    Platform.FACEBOOK: FacebookMetrics,
    Platform.X: XMetrics,
    Platform.BLUESKY: BlueskyMetrics,
    Platform.TIKTOK: TikTokMetrics,
    Platform.INSTAGRAM: InstagramMetrics,
    Platform.THREADS: ThreadsMetrics,
    Platform.LINKEDIN: LinkedInMetrics,
    Platform.YOUTUBE: YouTubeMetrics,
    Platform.PINTEREST: PinterestMetrics,
    Platform.GOOGLE_BUSINESS: GoogleBusinessMetrics,
}


def metrics_reader(
    platform: Platform, http: httpx.AsyncClient, settings: Settings, *, sandbox: bool
) -> MetricsReader | None:
    reader = READERS.get(platform)
    if reader is None:
        return None
    return reader(http, base_url(platform, settings, sandbox=sandbox))
