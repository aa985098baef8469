"""Which connector serves a platform, with which app credentials, against which hosts.

Each platform's module in providers/connect/ defines `CONNECTOR` (the class) and
`live_hosts(settings)`.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from typing_extensions import TypeIs

from core.config import Settings
from core.status import Platform
from providers.connect import (
    bluesky,
    facebook,
    google_business,
    instagram,
    linkedin,
    pinterest,
    threads,
    tiktok,
    x,
    youtube,
)
from providers.connect.base import Connector, Hosts, OAuthClient, PasswordConnector

AnyConnector = Connector | PasswordConnector

CONNECTORS: dict[Platform, tuple[type[AnyConnector], Callable[[Settings], Hosts]]] = {
    Platform.FACEBOOK: (facebook.CONNECTOR, facebook.live_hosts),
    Platform.INSTAGRAM: (instagram.CONNECTOR, instagram.live_hosts),
    Platform.LINKEDIN: (linkedin.CONNECTOR, linkedin.live_hosts),
    Platform.X: (x.CONNECTOR, x.live_hosts),
    Platform.BLUESKY: (bluesky.CONNECTOR, bluesky.live_hosts),
    Platform.THREADS: (threads.CONNECTOR, threads.live_hosts),
    Platform.GOOGLE_BUSINESS: (google_business.CONNECTOR, google_business.live_hosts),
    Platform.PINTEREST: (pinterest.CONNECTOR, pinterest.live_hosts),
    Platform.TIKTOK: (tiktok.CONNECTOR, tiktok.live_hosts),
    Platform.YOUTUBE: (youtube.CONNECTOR, youtube.live_hosts),
}


class NotConfigured(LookupError):
    """No OAuth app is configured for a live platform."""


def oauth_client(platform: Platform, settings: Settings, *, sandbox: bool) -> OAuthClient:
    if sandbox:
        return OAuthClient(
            settings.sandbox_client_id, settings.sandbox_client_secret.get_secret_value()
        )
    configured = settings.oauth_clients.get(platform.value)
    if configured is None:
        raise NotConfigured(
            f"no {platform.value} app is configured: add its client_id and client_secret to "
            "CRIER_OAUTH_CLIENTS"
        )
    return OAuthClient(configured.client_id, configured.client_secret.get_secret_value())


def connector_for(
    platform: Platform, http: httpx.AsyncClient, settings: Settings, *, sandbox: bool
) -> AnyConnector:
    connector, live_hosts = CONNECTORS[platform]
    hosts = Hosts.sandbox(settings.sandbox_url, platform) if sandbox else live_hosts(settings)
    return connector(http, hosts, oauth_client(platform, settings, sandbox=sandbox))


def is_password_login(connector: AnyConnector) -> TypeIs[PasswordConnector]:
    return hasattr(connector, "login")
