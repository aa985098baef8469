"""Applying and checking Alembic migrations from code (the CLI and the tests use these)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import core.models  # noqa: F401  (registers the tables)
from core.config import Settings, get_settings
from core.db import make_sync_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextmanager
def _migrating(settings: Settings | None) -> Iterator[Config]:
    """An Alembic config on one connection, in one transaction. On SQLite, foreign keys are
    off meanwhile: SQLite alters a table by copying it and dropping the old one, which enforced
    foreign keys refuse while other tables point at it. The pragma only takes effect outside a
    transaction; `PRAGMA foreign_key_check` puts the guarantee back before the commit."""
    engine = make_sync_engine(settings or get_settings())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            yield config
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:10]}")
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    engine.dispose()


def upgrade(settings: Settings | None = None, revision: str = "head") -> None:
    with _migrating(settings) as config:
        command.upgrade(config, revision)


def downgrade(settings: Settings | None, revision: str) -> None:
    """Back to `revision` (the tests check that a migration's way back keeps what it can)."""
    with _migrating(settings) as config:
        command.downgrade(config, revision)


def pending_model_changes(settings: Settings | None = None) -> list[Any]:
    """What autogenerate would still write: empty when the models and the migrations agree."""
    engine = make_sync_engine(settings or get_settings())
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    return list(diff)
