"""Secrets a development stack generates for itself and keeps beside its data (token, payload
and session keys), made so that no other local user can read them and no two processes that
start together can each keep a different one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> None:
    """`path` exists and only its owner may enter it. A directory this user owns that others
    may enter (made by an older crier, or under a loose umask) is tightened to 0700."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(PRIVATE_DIR)


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    """The first line of `path`; when there is no such file, `make()`'s value, written there.

    The file never exists with less than its whole content, nor with any mode but 0600: the
    value goes to a private temporary file (mkstemp makes it 0600 whatever the umask) and is
    published by a hard link, which, like O_CREAT|O_EXCL, fails when the name already exists.
    So when two processes start at once, one link wins and the other reads the winner's
    value, and both use the same key.
    """
    existing = _first_line(path)
    if existing:
        return existing
    ensure_private_dir(path.parent)
    value = make()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(value + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            winner = _first_line(path)
            if not winner:
                raise RuntimeError(f"{path} exists but holds no secret") from None
            return winner
        return value
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _first_line(path: Path) -> str:
    try:
        lines = path.read_text().strip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[0].strip() if lines else ""
