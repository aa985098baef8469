"""Alembic environment: migrations run on a sync connection, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

import core.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import make_sync_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_sync_engine()
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write crier's column types as the plain SQL types they store, so a migration stays
    readable and valid whatever happens to the Python classes later (`sa` is imported by
    script.py.mako)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite alters tables by copying them
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
