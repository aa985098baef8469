"""Real servers for tests: the sandbox over HTTP on a free port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

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
def running_sandbox(settings: Settings) -> Iterator[RunningSandbox]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings, public_url=url)
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
