"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import Depends, FastAPI
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from api.body_limit import install_body_limit
from api.browser_guard import BrowserGuard
from api.codec import codec_app
from api.contracts import leadmetrics, softsolz
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.media_facts import MediaChecker
from api.metrics import install_metrics
from api.nul_guard import refuse_nul
from api.rate_limits import RateLimitHeaders, RateLimits
from api.routes import (
    accounts,
    admin,
    aggregators,
    connections,
    events,
    health,
    lifecycle,
    metrics,
    notifications,
    platforms,
    post_checks,
    posts,
    projects,
    reports,
    retry_policy,
    return_origins,
    review_links,
    targets,
    webhooks,
)
from api.temporal_connection import TemporalConnection
from api.ui import account_pages, pages, social
from api.ui.auth import ReviewLinks, SessionSecret, page_cookies
from core.config import Settings, get_settings
from core.db import Database
from core.guarded_fetch import media_fetcher
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
        app.state.rate_limits = RateLimits(settings)
        # Every media URL a caller names is fetched through the one guarded fetcher.
        app.state.media_http = media_fetcher(settings)
        app.state.media_checker = MediaChecker(app.state.media_http, settings)
        # Platforms' OAuth and account endpoints (connect, revoke): one pooled client.
        # Shared by every tenant, so it keeps no cookie (S17).
        app.state.platform_http = httpx.AsyncClient(
            timeout=settings.http_timeout_seconds,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
        yield
        await app.state.platform_http.aclose()
        app.state.media_checker.close()
        await app.state.media_http.aclose()
        await app.state.db.dispose()

    app = FastAPI(
        title="crier",
        description="Publish social posts to connected accounts, now or later, after approval.",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    install_error_handlers(app)
    # Added first, so innermost: the headers of an allowed request's answer (S5).
    app.add_middleware(RateLimitHeaders)
    # Before the metrics middleware is added (so inside it): refused browsers are counted.
    app.add_middleware(BrowserGuard)
    # Outside the browser guard: an oversized body is refused before anything looks at it.
    install_body_limit(app, settings.max_request_bytes)
    if settings.api_metrics:
        install_metrics(app)
    app.include_router(health.router)
    for routes in (
        projects,
        accounts,
        connections,
        return_origins,
        platforms,
        # Before posts: /v1/posts/validate is its own route, not a post's id.
        post_checks,
        posts,
        lifecycle,
        targets,
        aggregators,
        retry_policy,
        webhooks,
        events,
        review_links,
        notifications,
        metrics,
        reports,
    ):
        app.include_router(routes.router, responses=ERROR_RESPONSES)
    # Operators' (off unless CRIER_ADMIN_TOKEN is set): not a tenant's API key route.
    app.include_router(admin.router, responses=ERROR_RESPONSES)
    # The seeds' own contracts, as thin layers over the routes above (docs/coming-from/).
    for contract in (softsolz, leadmetrics):
        app.include_router(contract.router, responses=ERROR_RESPONSES)
    app.mount("/codec", codec_app(settings))
    # The reviewer pages. Their session lives in the database (api/ui/auth.py); this signed
    # cookie holds only the flash message and the sign-in forms' CSRF token.
    app.include_router(pages.router)
    app.include_router(social.router)  # the Social tab's pages (api/ui/social*.py)
    app.include_router(account_pages.router)  # an account's page with its insights
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
