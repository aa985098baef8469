"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from core.config import Settings
from core.db import async_url, sync_url
from core.migrate import pending_model_changes, upgrade


def test_sqlite_migrations_match_the_models(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    upgrade(settings)
    assert pending_model_changes(settings) == []
    upgrade(settings)  # a second run is a no-op, as `crier dev` relies on


def test_postgresql_migrations_match_the_models(postgres_database: str, tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    upgrade(settings)
    assert pending_model_changes(settings) == []


def test_database_urls_keep_their_password() -> None:
    url = "postgresql://crier:s3cret@db:5432/crier"
    assert sync_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url("sqlite:///.crier/crier.db") == "sqlite+aiosqlite:///.crier/crier.db"
