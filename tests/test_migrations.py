"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from core.config import Settings
from core.db import async_url, sync_url
from core.migrate import pending_model_changes, upgrade

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def test_sqlite_migrations_match_the_models(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    upgrade(settings)
    assert pending_model_changes(settings) == []
    upgrade(settings)  # a second run is a no-op, as `crier dev` relies on


@pytest.fixture
def postgres_database() -> Iterator[str]:
    name = f"crier_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        # PostgreSQL is part of the supported set-up (this machine and CI run it): a missing
        # server is a failure to see, not a test to skip quietly.
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_postgresql_migrations_match_the_models(postgres_database: str, tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    upgrade(settings)
    assert pending_model_changes(settings) == []


def test_database_urls_keep_their_password() -> None:
    url = "postgresql://crier:s3cret@db:5432/crier"
    assert sync_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url("sqlite:///.crier/crier.db") == "sqlite+aiosqlite:///.crier/crier.db"
