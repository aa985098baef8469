"""Serialising work on one account across workers, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Account


async def lock_account(session: AsyncSession, account_id: str) -> Account | None:
    """The account row, locked until the session's transaction ends.

    PostgreSQL: a row lock (SELECT … FOR UPDATE), so only this account's other lockers wait.
    SQLite has no row locks: writing the row takes the database's write lock, which every
    other writer then waits for (busy_timeout); the read after it sees the latest commit.
    """
    if (await session.connection()).dialect.name == "postgresql":
        query = select(Account).where(Account.id == account_id).with_for_update()
    else:
        await session.exec(
            update(Account)
            .where(col(Account.id) == account_id)
            .values(updated_at=Account.updated_at)
        )
        query = select(Account).where(Account.id == account_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()
