"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api.browser_guard import BrowserGuard
from api.codec import codec_app
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.media_facts import media_client
from api.metrics import install_metrics
from api.routes import (
    accounts,
    aggregators,
    connections,
    events,
    health,
    lifecycle,
    posts,
    return_origins,
    review_links,
    targets,
    webhooks,
)
from api.temporal_connection import TemporalConnection
from api.ui import pages
from api.ui.auth import ReviewLinks, SessionSecret, page_cookies
from core.config import Settings, get_settings
from core.db import Database
from core.logs import silence_url_logging
from core.vault import Vault


def create_app(settings: Settings | None = None, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    silence_url_logging()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.db = Database(settings)
        app.state.vault = Vault.from_settings(settings)
        app.state.review_links = ReviewLinks(settings)
        app.state.temporal = TemporalConnection(settings, temporal)
        app.state.media_http = media_client(allow_private=settings.is_development)
        # Platforms' OAuth and account endpoints (connect, revoke): one pooled client.
        app.state.platform_http = httpx.AsyncClient(timeout=settings.http_timeout_seconds)
        yield
        await app.state.platform_http.aclose()
        await app.state.media_http.aclose()
        await app.state.db.dispose()

    app = FastAPI(
        title="crier",
        description="Publish social posts to connected accounts, now or later, after approval.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Before the metrics middleware is added (so inside it): refused browsers are counted.
    app.add_middleware(BrowserGuard)
    if settings.api_metrics:
        install_metrics(app)
    app.include_router(health.router)
    for routes in (
        accounts,
        connections,
        return_origins,
        posts,
        lifecycle,
        targets,
        aggregators,
        webhooks,
        events,
        review_links,
    ):
        app.include_router(routes.router, responses=ERROR_RESPONSES)
    app.mount("/codec", codec_app(settings))
    # The reviewer pages. Their session lives in the database (api/ui/auth.py); this signed
    # cookie holds only the flash message and the sign-in forms' CSRF token.
    app.include_router(pages.router)
    cookies = page_cookies(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=SessionSecret(settings),
        session_cookie=cookies.state,
        max_age=int(settings.review_session_ttl.total_seconds()),
        path=cookies.path,
        same_site="lax",
        https_only=cookies.secure,
    )
    return app
