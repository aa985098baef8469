"""Reading the events a test caused."""

from __future__ import annotations

from sqlmodel import col, select

from core.db import Database
from core.models import Event


async def events_of(db: Database, tenant_id: str) -> list[Event]:
    async with db.session() as session:
        found = await session.exec(
            select(Event).where(Event.tenant_id == tenant_id).order_by(col(Event.seq))
        )
        return list(found.all())


async def event_types(db: Database, tenant_id: str) -> list[str]:
    return [e.type for e in await events_of(db, tenant_id)]
