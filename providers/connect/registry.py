"""Which connector serves a platform, with which app credentials, against which hosts.

Each module in providers/connect/ is named after its platform and defines `CONNECTOR` (the
class) and `live_hosts(settings)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

import httpx
from typing_extensions import TypeIs

from core.config import Settings
from core.status import Platform
from providers.connect.base import Connector, Hosts, OAuthClient, PasswordConnector

AnyConnector = Connector | PasswordConnector


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


def connector_class(platform: Platform) -> type[AnyConnector]:
    module = importlib.import_module(f"providers.connect.{platform.value}")
    return cast(type[AnyConnector], module.CONNECTOR)


def connector_for(
    platform: Platform, http: httpx.AsyncClient, settings: Settings, *, sandbox: bool
) -> AnyConnector:
    module = importlib.import_module(f"providers.connect.{platform.value}")
    live_hosts = cast(Callable[[Settings], Hosts], module.live_hosts)
    hosts = Hosts.sandbox(settings.sandbox_url, platform) if sandbox else live_hosts(settings)
    cls = cast(type[AnyConnector], module.CONNECTOR)
    return cls(http, hosts, oauth_client(platform, settings, sandbox=sandbox))


def is_password_login(connector: AnyConnector) -> TypeIs[PasswordConnector]:
    return hasattr(connector, "login")
