"""Who wins when a publish waiting in a worker for its time meets an update that stops it.

The database decides, in one conditional UPDATE each: at its time the publish claims the target
(`scheduled` → `publishing`) unless its fire id was stopped; an update stops a fire id only
while the target is still `scheduled`. Exactly one of them changes the row, so a cancel that
was confirmed can never be followed by a send, and a send under way makes the cancel fail.
Heartbeat-borne cancellation then only frees the worker's slot; correctness does not wait on
it.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlmodel import col
from temporalio import activity

from core.batching import Batcher
from core.db import Database, one_item_could_cause
from core.messages.delivery import STOP_FIRE, StopFireRequest
from core.models import Target
from core.status import TargetStatus

TARGET = Target.__table__  # type: ignore[attr-defined]


def claimable(fire_ids: Collection[str]) -> ColumnElement[bool]:
    """Which targets the waiting publishes with these fire ids may claim at their time: still
    `scheduled`, and not stopped for that fire. The ledger claims them in the same UPDATE that
    opens their attempts (activities/ledger.py), a whole batch at once.

    One `NOT IN` serves a batch because fire ids are uuids, each naming one target's fire, and
    a batch never holds two publishes of one target (core/batching.py)."""
    return and_(
        col(Target.status) == TargetStatus.SCHEDULED,
        or_(
            col(Target.stopped_fire_id).is_(None),
            col(Target.stopped_fire_id).not_in(fire_ids),
        ),
    )


class FireStops:
    """Stops fires, many in one transaction (core/batching.py): a worker back from a crash takes
    over all the fires it lost at once, and each takeover stops its fire first."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._batches = Batcher(
            self._stop_all,
            key=lambda r: r.target_id,
            fails_alone=one_item_could_cause,
            keep_abandoned=False,  # a takeover that timed out asks again on its next try
        )

    async def stop(self, request: StopFireRequest) -> bool:
        """True if the fire can no longer send (stopped now, or by an earlier try of this)."""
        return await self._batches.submit(request)

    async def _stop_all(self, requests: list[StopFireRequest]) -> list[bool]:
        # Two statements whatever the batch's size: on SQLite the write lock is held from the
        # UPDATE to the commit, and each statement is a turn of a busy event loop.
        fire_of = {r.target_id: r.fire_id for r in requests}
        async with self._db.session() as session:
            connection = await session.connection()
            await connection.execute(
                update(TARGET)
                .where(
                    TARGET.c.id.in_(fire_of),
                    TARGET.c.status == TargetStatus.SCHEDULED.value,
                )
                .values(stopped_fire_id=case(fire_of, value=TARGET.c.id))
            )
            rows = await connection.execute(
                select(TARGET.c.id, TARGET.c.stopped_fire_id).where(TARGET.c.id.in_(fire_of))
            )
            stopped = {target_id: fire_id for target_id, fire_id in rows}
            await session.commit()
        # Stopped now or by an earlier try of the same takeover: the row names this fire.
        return [stopped.get(r.target_id) == r.fire_id for r in requests]


class FireStopActivities:
    def __init__(self, *, db: Database) -> None:
        self._stops = FireStops(db)

    @activity.defn(name=STOP_FIRE)
    async def stop_fire(self, request: StopFireRequest) -> bool:
        """True if the fire can no longer send (stopped now, or by an earlier try of this)."""
        return await self._stops.stop(request)
