"""The operator's commands work on the database directly (CRIER_DATABASE_URL), as an operator's
tools should: no API key is needed to make the first API key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlmodel import Session

from core.config import get_settings
from core.db import make_sync_engine


@contextmanager
def operator_session() -> Iterator[Session]:
    engine = make_sync_engine(get_settings())
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def refuse(problems: list[str]) -> None:
    """Every problem with the command line at once, then exit 2 (a usage error), as Typer's
    own refusals do; nothing was changed."""
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        raise typer.Exit(2)
