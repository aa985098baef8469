"""Keys a development stack generates for itself: private from the first byte (0600 files in a
0700 directory, whatever the umask), and one key however many processes start at once."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.ui.auth import session_secret
from core.codec import EncryptionCodec
from core.config import Settings
from core.secret_files import read_or_create_secret
from core.vault import Vault


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The loosest umask: nothing but crier's own modes keeps the files private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_new_key_file_is_0600_in_a_0700_directory(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "data" / "token.keys"
    value = read_or_create_secret(path, lambda: "the-key")
    assert value == "the-key"
    assert path.read_text() == "the-key\n"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["token.keys"]  # no temporary left


def test_an_existing_key_is_kept_and_a_loose_directory_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older crier left it
    (data / "payload.keys").write_text("kept\n")
    assert read_or_create_secret(data / "payload.keys", lambda: "new") == "kept"
    read_or_create_secret(data / "session.key", lambda: "made")
    assert mode(data) == 0o700


def test_processes_starting_together_all_get_the_one_key_written(tmp_path: Path) -> None:
    """Every caller finds no file and makes its own key before any of them writes (the barrier
    holds them there): one write wins, and every caller returns the winner's key."""
    path = tmp_path / "data" / "payload.keys"
    callers = 8
    everyone_made_one = threading.Barrier(callers)
    made = iter(range(callers))
    lock = threading.Lock()

    def make() -> str:
        with lock:
            mine = f"key-{next(made)}"
        everyone_made_one.wait(timeout=10)
        return mine

    with ThreadPoolExecutor(callers) as pool:
        got = list(pool.map(lambda _: read_or_create_secret(path, make), range(callers)))
    assert len(set(got)) == 1
    assert path.read_text() == got[0] + "\n"
    assert [p.name for p in path.parent.iterdir()] == ["payload.keys"]


def test_an_empty_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "token.keys"
    path.write_text("")
    with pytest.raises(RuntimeError, match="holds no secret"):
        read_or_create_secret(path, lambda: "new")
    assert path.read_text() == ""


def test_the_vault_the_codec_and_the_pages_keep_their_keys_private(
    tmp_path: Path, loose_umask: None
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "crier")
    Vault.from_settings(settings)
    EncryptionCodec.from_settings(settings)
    secret = session_secret(settings)
    assert len(secret) >= 32
    assert mode(settings.data_dir) == 0o700
    for name in ("token.keys", "payload.keys", "session.key"):
        assert mode(settings.data_dir / name) == 0o600, name
    # Read again, not made again: a restarted process keeps its keys.
    assert session_secret(settings) == secret
