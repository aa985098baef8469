"""`crier dev` as a subprocess, on free ports and a data directory the caller chooses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

REPO = Path(__file__).parent.parent.parent


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    api: str
    sandbox: str
    temporal: str
    ports: list[int]
    data_dir: Path
    ui: str
    output: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StackPorts:
    api: int
    sandbox: int
    temporal: int
    ui: int

    @classmethod
    def free(cls) -> StackPorts:
        return cls(free_port(), free_port(), free_port(), free_port())


def wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def dev_stack(
    data_dir: Path,
    ports: StackPorts,
    *,
    key: str,
    database_url: str = "",
    env: dict[str, str] | None = None,
) -> Iterator[DevStack]:
    """Start `crier dev`, wait for its banner, stop it with SIGTERM on exit (as Ctrl-C would).

    Its database is `database_url` (the `database_url` fixture's: a PostgreSQL database on
    PostgreSQL runs), or with '' the SQLite file in data_dir."""
    environment = {
        **os.environ,
        "CRIER_DATA_DIR": str(data_dir),
        "CRIER_API_PORT": str(ports.api),
        "CRIER_SANDBOX_PORT": str(ports.sandbox),
        "CRIER_TEMPORAL_PORT": str(ports.temporal),
        "CRIER_TEMPORAL_UI_PORT": str(ports.ui),
        "CRIER_DEV_API_KEY": key,
        **(env or {}),
    }
    environment.pop("CRIER_DATABASE_URL", None)
    if database_url:
        environment["CRIER_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev"],
        env=environment,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = DevStack(
        process=process,
        api=f"http://127.0.0.1:{ports.api}",
        sandbox=f"http://127.0.0.1:{ports.sandbox}",
        temporal=f"127.0.0.1:{ports.temporal}",
        ports=[ports.api, ports.sandbox, ports.temporal, ports.ui],
        data_dir=data_dir,
        ui=f"http://127.0.0.1:{ports.ui}",
    )

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.output.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        wait_for(
            lambda: (
                any("crier is running" in line for line in running.output)
                or process.poll() is not None
            ),
            timeout=120,
            what="`crier dev` to come up",
        )
        assert process.poll() is None, "".join(running.output)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
