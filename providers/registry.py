"""Which provider serves a platform, and where its API lives (the platform or the sandbox)."""

from __future__ import annotations

from core.config import Settings
from core.status import Platform
from providers.base import PlatformRules, Provider
from providers.facebook import FacebookProvider

PROVIDERS: dict[Platform, type[Provider]] = {
    Platform.FACEBOOK: FacebookProvider,
}


def supported_platforms() -> list[Platform]:
    return list(PROVIDERS)


def rules_for(platform: Platform) -> PlatformRules:
    return PROVIDERS[platform].rules


def base_url(platform: Platform, settings: Settings, *, sandbox: bool) -> str:
    if platform is Platform.FACEBOOK:
        root = f"{settings.sandbox_url}/facebook" if sandbox else settings.facebook_graph_url
        return f"{root.rstrip('/')}/{settings.facebook_graph_version}"
    raise LookupError(f"no provider for {platform}")
