"""The stack a benchmark runs on: the same parts `crier dev` starts (Temporal's dev server
with its WAL pragmas, the sandbox, one crier worker, the API), plus the bare worker, all
children of the benchmark, on free ports and a fresh data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from cli.dev import Child, Stack
from cli.seed import DemoTenant, seed_demo
from core.config import Settings
from core.migrate import upgrade
from tests.support.servers import free_port

BENCH_KEY = "sk_test_bench"
BARE_QUEUE = "bare-bench"


class BenchStack:
    def __init__(
        self, workdir: Path, extra_env: dict[str, str] | None = None, database_url: str = ""
    ) -> None:
        ports = {name: free_port() for name in ("api", "sandbox", "temporal", "ui")}
        env = {
            # A local stack like `crier dev`'s: development, whoever runs the benchmark
            # (crier's own default is production, which would refuse its generated keys).
            "CRIER_ENV": os.environ.get("CRIER_ENV", "development"),
            "CRIER_DATA_DIR": str(workdir),
            "CRIER_DEV_API_KEY": BENCH_KEY,
            "CRIER_PUBLIC_API_URL": f"http://127.0.0.1:{ports['api']}",
            "CRIER_TEMPORAL_PORT": str(ports["temporal"]),
            "CRIER_TEMPORAL_UI_PORT": str(ports["ui"]),
            "CRIER_DATABASE_URL": database_url,  # empty: a SQLite file in the data directory
            **(extra_env or {}),
        }
        os.environ.update(env)  # the children read their settings from the environment
        self.settings = Settings(
            data_dir=workdir,
            api_port=ports["api"],
            sandbox_port=ports["sandbox"],
            temporal_port=ports["temporal"],
            temporal_ui_port=ports["ui"],
            dev_api_key=BENCH_KEY,
            sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
            temporal_address=f"127.0.0.1:{ports['temporal']}",
            database_url=database_url,
        )
        self.stack = Stack(self.settings)
        self.api = f"http://127.0.0.1:{ports['api']}"
        self.sandbox = f"http://127.0.0.1:{ports['sandbox']}"
        self.temporal = f"127.0.0.1:{ports['temporal']}"
        self.demo: DemoTenant | None = None
        self.bare: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.stack.start_temporal()
        upgrade(self.settings)
        self.demo = seed_demo(self.settings)
        self._crier("sandbox")
        self.stack.wait_for_port(self.settings.temporal_port, "Temporal")
        self._crier("worker")
        self._crier("api")
        self.stack.wait_for_http(f"{self.sandbox}/healthz", "the sandbox")
        self.stack.wait_for_http(f"{self.api}/readyz", "the API to be ready")
        self.bare = subprocess.Popen(
            [sys.executable, "-m", "bench.bare", self.temporal, BARE_QUEUE],
            cwd=Path(__file__).parent.parent,
        )

    def child(self, name: str) -> Child:
        [found] = [c for c in self.stack.children if c.name == name]
        return found

    def kill_worker(self) -> None:
        """SIGKILL, as a crashed machine would: no shutdown, no goodbye to Temporal."""
        worker = self.child("worker")
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait()
        self.stack.children.remove(worker)

    def start_worker(self) -> None:
        self._crier("worker")

    def _crier(self, command: str) -> None:
        # Logs to files under data_dir/logs: the table is what the terminal shows.
        self.stack.spawn(command, [sys.executable, "-m", "cli.main", command], log_to_file=True)

    def rss_mb(self, name: str) -> float:
        pid = self.child(name).process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for {name}")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.api}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.bare is not None:
            self.bare.terminate()
            self.bare.wait(timeout=15)
        self.stack.stop()
