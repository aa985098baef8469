"""Real servers for tests: the sandbox over HTTP on a free port, in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Literal

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from core.config import Settings
from sandbox.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    secret: str


@contextmanager
def running_sandbox(
    settings: Settings, *, extend: Callable[[FastAPI], None] | None = None
) -> Iterator[RunningSandbox]:
    """The sandbox app (first given to `extend`, where a test adds routes of its own) on a
    free port, served from a background thread."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings, public_url=url)
    if extend is not None:
        extend(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    try:
        yield RunningSandbox(url=url, secret=settings.sandbox_secret.get_secret_value())
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def serving(
    app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "on", port: int | None = None
) -> AsyncIterator[str]:
    """Serve `app` over real HTTP on a free port, in this event loop; yield its base URL.

    In the test's own loop, so the app may hold clients (Temporal's) made in that loop."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    else:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class WebhookReceiver:
    """A webhook receiver that answers `failures` with an error first, then 200."""

    failures: int = 0
    status_when_failing: int = 503
    requests: list[Received] = field(default_factory=list)

    def status_for(self, headers: dict[str, str], body: bytes) -> int:
        failing = len(self.requests) < self.failures
        return self.status_when_failing if failing else 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.status_for(headers, body)
        self.requests.append(Received(headers=headers, body=body, answered=status))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if status < 300 else b"nope"})
