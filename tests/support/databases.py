"""The database each test runs on.

By default every test gets its own SQLite file under its data directory. With
`CRIER_TEST_DATABASE=postgresql` every test gets its own new PostgreSQL database on the server
at 127.0.0.1:5432 (trust auth, user postgres), dropped after it: `make test-postgres`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from core.config import Settings

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_URL = "postgresql://postgres@127.0.0.1:5432"
CHOICE = "CRIER_TEST_DATABASE"


def on_postgresql() -> bool:
    """Whether this run puts every test's data in PostgreSQL (CRIER_TEST_DATABASE)."""
    choice = os.environ.get(CHOICE, "sqlite").strip().lower() or "sqlite"
    if choice not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"{CHOICE} must be 'sqlite' or 'postgresql', not {choice!r}")
    return choice == "postgresql"


@contextmanager
def postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database, dropped (connections and all) on exit: empty, or a copy of
    the database `template` names (PostgreSQL copies its files: no migrations run again)."""
    name = f"crier_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # PostgreSQL is part of the supported set-up (this machine and CI run it): a missing
        # server is a failure to see, not a test to skip quietly.
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    with admin:
        if template is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        try:
            yield f"{SERVER_URL}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def fresh_database(template: str | None = None) -> Iterator[str]:
    """The database URL for one test (or one module's shared app): '' means the SQLite file
    under the settings' data_dir; on PostgreSQL runs, a fresh database dropped afterwards
    (a copy of `template`, a migrated database, when one is named)."""
    if not on_postgresql():
        yield ""
        return
    with postgres_database(template) as url:
        yield url


def stored_bytes(settings: Settings) -> bytes:
    """Everything the database holds, for scans that look for secrets stored in plain text.

    SQLite: the raw database file with its WAL and shared-memory files, as they are on disk.
    PostgreSQL: every row of every table of the schema as text (bytea printed as its bytes where
    they are printable), read over a connection rather than from the server's data files, which
    may compress long values.
    """
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    dump: list[str] = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.execute("SET bytea_output = 'escape'")
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(table))
            dump.extend(row for (row,) in connection.execute(query).fetchall())
    return "\n".join(dump).encode()
