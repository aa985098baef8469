"""Database engines and sessions: async for the service, sync for Alembic and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import DateTime, String, TypeDecorator
from sqlmodel import create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.config import Settings, get_settings


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite keeps no offset, so without this a value read back would be naive and compare
    wrongly with the aware datetimes everywhere else.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: every stored time carries an offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[StrEnum]):
    """A StrEnum stored as a plain string column, read back as the enum.

    Plain strings, not database enums, so a new state is a code change rather than a
    migration (PostgreSQL cannot drop an enum value).
    """

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _with_driver(url: str, *, sqlite: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        parsed = parsed.set(drivername=sqlite)
    elif parsed.drivername.startswith("postgresql"):
        # psycopg 3 serves both the sync and the async engine under one driver name.
        parsed = parsed.set(drivername="postgresql+psycopg")
    # str(URL) would mask the password as ***; the engine needs the real one.
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    return _with_driver(url, sqlite="sqlite")


def async_url(url: str) -> str:
    return _with_driver(url, sqlite="sqlite+aiosqlite")


def _tune_sqlite(engine: Engine) -> None:
    # WAL lets the API read while the worker writes; busy_timeout makes concurrent writers wait
    # for the lock instead of failing with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_sync_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    url = sync_url(settings.resolved_database_url)
    _ensure_sqlite_dir(url)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def make_async_engine(settings: Settings | None = None) -> AsyncEngine:
    settings = settings or get_settings()
    url = async_url(settings.resolved_database_url)
    _ensure_sqlite_dir(url)
    sqlite = make_url(url).drivername.startswith("sqlite")
    # A local file has no connection to lose; the ping only doubled every checkout's cost.
    engine = create_async_engine(url, pool_pre_ping=not sqlite)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine.sync_engine)
    return engine


class Database:
    """An async engine and its session factory; one per process."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.engine = make_async_engine(settings)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


@lru_cache
def get_database() -> Database:
    return Database()


def one_item_could_cause(error: Exception) -> bool:
    """For a group commit (core/batching.py): whether a failed batch is worth writing again
    item by item. Not when the database was busy, locked or unreachable: every item would meet
    that again."""
    return not isinstance(error, OperationalError | PoolTimeout | TimeoutError)
