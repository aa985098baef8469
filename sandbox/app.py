"""The sandbox: one HTTP server standing in for every platform's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from core.config import Settings, get_settings
from sandbox import (
    aggregators,
    bluesky,
    control,
    facebook,
    google_business,
    instagram,
    linkedin,
    pinterest,
    samples,
    threads,
    tiktok,
    x,
    youtube,
)
from sandbox.logins import login_routers
from sandbox.state import SandboxState


class DroppedConnection(Exception):
    """Raised mid-answer so the server abandons the connection (an injected fault)."""


async def _break_after_first_byte() -> AsyncIterator[bytes]:
    # The status line and a first byte go out, then the server gives up on the connection:
    # to the client, a request that was handled but whose answer never fully arrived.
    yield b"{"
    raise DroppedConnection("injected: accept then drop the connection")


def create_app(settings: Settings | None = None, *, public_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="crier sandbox", description="Local stand-in for the platforms' APIs.")
    app.state.sandbox = SandboxState()
    app.state.secret = settings.sandbox_secret.get_secret_value()
    app.state.oauth_client = (
        settings.sandbox_client_id,
        settings.sandbox_client_secret.get_secret_value(),
    )
    app.state.public_url = (public_url or settings.sandbox_url).rstrip("/")

    @app.middleware("http")
    async def inject_faults(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if path.startswith("/_control"):
            return await call_next(request)
        state: SandboxState = app.state.sandbox
        state.record_call(request.method, path)
        fault = state.take_fault(request.method, path)
        if fault is None:
            return await call_next(request)
        if fault.accept_then_stall:
            handled = await call_next(request)
            await asyncio.sleep(fault.delay)
            return handled
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.accept_then_drop:
            handled = await call_next(request)
            return StreamingResponse(
                _break_after_first_byte(), status_code=handled.status_code, headers=fault.headers
            )
        return JSONResponse(fault.body or {}, status_code=fault.status, headers=fault.headers)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(control.router)
    app.include_router(samples.router)
    app.include_router(aggregators.control)
    app.include_router(aggregators.postforme)
    app.include_router(aggregators.late)
    for scripted in (instagram, threads, pinterest, tiktok):  # scriptable media states
        app.include_router(scripted.control)
    platforms = (
        facebook,
        instagram,
        linkedin,
        x,
        bluesky,
        threads,
        google_business,
        pinterest,
        tiktok,
        youtube,
    )
    for platform in platforms:
        app.include_router(platform.router)
    for login in login_routers():
        app.include_router(login)
    return app
