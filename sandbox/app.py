"""The sandbox: one HTTP server standing in for every platform's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import Settings, get_settings
from sandbox import (
    aggregators,
    bluesky,
    bluesky_insights,
    control,
    facebook,
    facebook_insights,
    google_business,
    google_business_insights,
    instagram,
    instagram_insights,
    linkedin,
    linkedin_insights,
    pinterest,
    pinterest_insights,
    samples,
    threads,
    threads_insights,
    tiktok,
    tiktok_insights,
    x,
    x_insights,
    youtube,
    youtube_insights,
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


class InjectFaults:
    """Counts every platform call and answers it with an injected fault when one matches.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware gives each
    request its own task and stream, and at a burst of a hundred posts that overhead made the
    sandbox, not the caller under test, the slow end."""

    def __init__(self, app: ASGIApp, state: Callable[[], SandboxState]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_control"):
            await self.app(scope, receive, send)
            return
        state = self.state()
        method, path = scope["method"], scope["path"]
        state.record_call(method, path)
        fault = state.take_fault(method, path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.accept_then_stall:
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(fault.delay)
            for message in held:
                await send(message)
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.accept_then_drop:
            status = 500

            async def note_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]

            await self.app(scope, receive, note_status)
            dropped = StreamingResponse(
                _break_after_first_byte(), status_code=status, headers=fault.headers
            )
            await dropped(scope, receive, send)
            return
        answer = JSONResponse(fault.body or {}, status_code=fault.status, headers=fault.headers)
        await answer(scope, receive, send)


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

    app.add_middleware(InjectFaults, state=lambda: app.state.sandbox)

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
    app.include_router(bluesky_insights.control)  # ages a post named by its at:// URI
    platforms = (
        facebook_insights,  # before facebook: its /{version}/{object}/insights is the longer
        facebook,
        instagram_insights,  # before instagram, as facebook_insights
        instagram,
        linkedin_insights,
        linkedin,
        x_insights,
        x,
        bluesky_insights,
        bluesky,
        threads_insights,
        threads,
        google_business_insights,
        google_business,
        pinterest_insights,
        pinterest,
        tiktok_insights,
        tiktok,
        youtube_insights,
        youtube,
    )
    for platform in platforms:
        app.include_router(platform.router)
    for login in login_routers():
        app.include_router(login)
    return app
