"""Which provider serves a platform, and where its API lives (the platform or the sandbox)."""

from __future__ import annotations

from core.config import Settings
from core.status import Platform
from providers.base import PlatformRules, Provider
from providers.bluesky import BlueskyProvider
from providers.facebook import FacebookProvider
from providers.google_business import GoogleBusinessProvider
from providers.instagram import InstagramProvider
from providers.linkedin import LinkedInProvider
from providers.pinterest import PinterestProvider
from providers.threads import ThreadsProvider
from providers.tiktok import TikTokProvider
from providers.x import XProvider
from providers.youtube import YouTubeProvider

PROVIDERS: dict[Platform, type[Provider]] = {
    Platform.FACEBOOK: FacebookProvider,
    Platform.INSTAGRAM: InstagramProvider,
    Platform.LINKEDIN: LinkedInProvider,
    Platform.X: XProvider,
    Platform.BLUESKY: BlueskyProvider,
    Platform.THREADS: ThreadsProvider,
    Platform.GOOGLE_BUSINESS: GoogleBusinessProvider,
    Platform.PINTEREST: PinterestProvider,
    Platform.TIKTOK: TikTokProvider,
    Platform.YOUTUBE: YouTubeProvider,
}


def supported_platforms() -> list[Platform]:
    return list(PROVIDERS)


def rules_for(platform: Platform) -> PlatformRules:
    return PROVIDERS[platform].rules


def base_url(platform: Platform, settings: Settings, *, sandbox: bool) -> str:
    if platform in (Platform.FACEBOOK, Platform.INSTAGRAM):
        # Instagram with Facebook Login is served by graph.facebook.com too (docs/platforms.md §2).
        sandboxed = f"{settings.sandbox_url}/{platform.value}"
        root = sandboxed if sandbox else settings.facebook_graph_url
        return f"{root.rstrip('/')}/{settings.facebook_graph_version}"
    live = {
        Platform.LINKEDIN: settings.linkedin_api_url,
        Platform.X: settings.x_api_url,
        Platform.BLUESKY: settings.bluesky_pds_url,
        Platform.THREADS: settings.threads_graph_url,
        Platform.GOOGLE_BUSINESS: settings.google_business_api_url,
        Platform.PINTEREST: settings.pinterest_api_url,
        Platform.TIKTOK: settings.tiktok_api_url,
        Platform.YOUTUBE: settings.youtube_api_url,
    }
    if platform in live:
        # Each provider adds its own path (/rest, /2, /xrpc, /v1.0, /v4, ...) to this root.
        return f"{settings.sandbox_url.rstrip('/')}/{platform.value}" if sandbox else live[platform]
    raise LookupError(f"no provider for {platform}")
