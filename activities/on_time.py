"""Who wins when a publish waiting in a worker for its time meets an update that stops it.

The database decides, in one conditional UPDATE each: at its time the publish claims the target
(`scheduled` → `publishing`) unless its fire id was stopped; an update stops a fire id only
while the target is still `scheduled`. Exactly one of them changes the row, so a cancel that
was confirmed can never be followed by a send, and a send under way makes the cancel fail.
Heartbeat-borne cancellation then only frees the worker's slot; correctness does not wait on
it.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, or_
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.db import Database, utcnow
from core.messages import STOP_FIRE, StopFireRequest
from core.models import Target
from core.status import TargetStatus


async def claim(session: AsyncSession, target_id: str, fire_id: str) -> bool:
    """The waiting publish, at its time: True if it may send. Commits nothing: the caller
    writes its attempt in the same transaction (activities/ledger.py)."""
    result = await session.exec(
        update(Target)
        .where(
            col(Target.id) == target_id,
            col(Target.status) == TargetStatus.SCHEDULED,
            or_(
                col(Target.stopped_fire_id).is_(None),
                col(Target.stopped_fire_id) != fire_id,
            ),
        )
        .values(status=TargetStatus.PUBLISHING, updated_at=utcnow())
    )
    return cast(CursorResult[Any], result).rowcount == 1


class OnTimeActivities:
    def __init__(self, *, db: Database) -> None:
        self._db = db

    @activity.defn(name=STOP_FIRE)
    async def stop_fire(self, request: StopFireRequest) -> bool:
        """True if the fire can no longer send (stopped now, or by an earlier try of this)."""
        async with self._db.session() as session:
            result = await session.exec(
                update(Target)
                .where(
                    col(Target.id) == request.target_id,
                    col(Target.status) == TargetStatus.SCHEDULED,
                )
                .values(stopped_fire_id=request.fire_id)
            )
            await session.commit()
            if cast(CursorResult[Any], result).rowcount == 1:
                return True
            target = await session.get(Target, request.target_id)
            return target is not None and target.stopped_fire_id == request.fire_id
