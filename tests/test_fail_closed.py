"""Fail closed: a crier process nobody configured is a production process, which refuses to
start without its secrets (naming what is missing, never a value given); development is only
ever said out loud (`crier dev`, `make dev`, the tests), and every process says its mode as it
starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from cli.dev import Stack
from core.codec import new_key
from core.config import Settings
from tests.support.devstack import wait_for
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN_KEY = Fernet.generate_key().decode()
PRODUCTION_SECRETS = {
    "CRIER_TOKEN_KEYS": TOKEN_KEY,
    "CRIER_PAYLOAD_KEYS": new_key(),
    "CRIER_SESSION_SECRET": "session-secret-of-at-least-32-characters",
    "CRIER_SANDBOX_SECRET": "sandbox-secret-of-at-least-32-characters",
    # Said explicitly: one process counting alone (production refuses to guess).
    "CRIER_RATE_LIMIT_STORAGE": "memory://",
}


def bare_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """An environment with no CRIER_* but those given, as on a fresh host."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CRIER_")}
    return env | {"CRIER_DATA_DIR": str(tmp_path / "crier")} | settings


@contextmanager
def crier_process(command: str, env: dict[str, str], cwd: Path) -> Iterator[list[str]]:
    """`crier <command>` as a process (in a directory with no .env), its output collected."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", command],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        output.extend(process.stdout)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        yield output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)


def run_crier(command: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """`crier <command>` to its end: its exit code and output."""
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_settings_nobody_configured_are_production_and_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [key for key in os.environ if key.startswith("CRIER_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert Settings.model_fields["env"].default == "production"
    with pytest.raises(ValidationError) as refused:
        Settings()
    said = str(refused.value)
    assert "refusing to start in production" in said
    for missing in (
        "CRIER_SANDBOX_SECRET",
        "CRIER_TOKEN_KEYS",
        "CRIER_PAYLOAD_KEYS",
        "CRIER_SESSION_SECRET",
        "CRIER_DATABASE_URL",
        "CRIER_RATE_LIMIT_STORAGE",
    ):
        assert missing in said
    # Given some secrets but not all: still refused, and no value given is repeated.
    monkeypatch.setenv("CRIER_TOKEN_KEYS", TOKEN_KEY)
    with pytest.raises(ValidationError) as again:
        Settings()
    assert TOKEN_KEY[:8] not in str(again.value)


@pytest.mark.parametrize("command", ["api", "worker", "sandbox", "migrate"])
def test_a_process_nobody_configured_refuses_to_start(command: str, tmp_path: Path) -> None:
    env = bare_environment(tmp_path, CRIER_TOKEN_KEYS=TOKEN_KEY)
    code, said = run_crier(command, env, tmp_path)
    assert code == 2
    assert "refusing to start in production" in said, said
    assert "CRIER_PAYLOAD_KEYS is empty" in said
    assert TOKEN_KEY[:8] not in said
    assert "Traceback" not in said
    assert not (tmp_path / "crier").exists(), "nothing generated on disk"


def test_crier_dev_refuses_production(tmp_path: Path) -> None:
    env = bare_environment(tmp_path, CRIER_ENV="production", **PRODUCTION_SECRETS)
    code, said = run_crier("dev", env, tmp_path)
    assert code == 2 and "crier dev runs the development stack" in said


def test_crier_dev_runs_its_children_in_its_own_mode(tmp_path: Path) -> None:
    for mode in ("development", "test"):
        env = Stack(Settings(env=mode, data_dir=tmp_path)).env()
        assert env["CRIER_ENV"] == mode
        assert env["CRIER_CODEC_DEV_ORIGIN"] == "true"


def mode_line(output: list[str], command: str) -> dict[str, str] | None:
    for line in output:
        if line.startswith("{"):
            record: dict[str, str] = json.loads(line)
            if record.get("message", "").startswith(f"crier {command} starting in "):
                return record
    return None


@pytest.mark.parametrize(
    ("command", "mode"),
    [
        ("api", "development"),
        ("sandbox", "development"),
        ("worker", "development"),
        ("worker", "production"),
        ("migrate", "production"),
    ],
)
def test_every_process_says_its_mode_as_it_starts(command: str, mode: str, tmp_path: Path) -> None:
    env = bare_environment(
        tmp_path,
        CRIER_ENV=mode,
        CRIER_API_PORT=str(free_port()),
        CRIER_SANDBOX_PORT=str(free_port()),
        # Nobody there: the worker says its mode, then waits for Temporal until stopped.
        CRIER_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
    )
    if mode == "production":
        env |= PRODUCTION_SECRETS | {"CRIER_DATABASE_URL": f"sqlite:///{tmp_path / 'crier.db'}"}
    with crier_process(command, env, tmp_path) as output:
        record = wait_for(
            lambda: mode_line(output, command), timeout=60, what=f"{command}'s mode line"
        )
    assert record["mode"] == mode
    assert record["level"] == ("INFO" if mode == "production" else "WARNING")
    assert f"crier {command} starting in {mode} mode" in record["message"]


def test_the_image_is_production_said_out_loud() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nENV CRIER_ENV=production\n" in dockerfile


def test_short_secrets_and_keys_refuse_to_start() -> None:
    with pytest.raises(ValidationError, match="CRIER_SESSION_SECRET is shorter than 32"):
        Settings(env="test", session_secret="s" * 31)
    with pytest.raises(ValidationError, match="CRIER_PAYLOAD_KEYS: key 2 is not 32 bytes"):
        Settings(env="test", payload_keys=f"{new_key()},{new_key()[:24]}")
    Settings(env="test", session_secret="s" * 32)


def test_env_files_are_kept_out_of_git() -> None:
    def ignored(path: str) -> bool:
        found = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        return found.returncode == 0

    assert ignored(".env") and ignored(".env.production") and ignored("deploy/.env")
    assert not ignored("deploy/env.example")
