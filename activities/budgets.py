"""Per-account publishing budgets: take a slot, or learn how long until one frees."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import Database
from core.messages.delivery import RESERVE_PUBLISH_SLOT, SlotDecision, SlotRequest
from core.models import Account, PublishSlot, Target


class BudgetActivities:
    def __init__(self, *, db: Database) -> None:
        self._db = db

    @activity.defn(name=RESERVE_PUBLISH_SLOT)
    async def reserve_publish_slot(self, request: SlotRequest) -> SlotDecision:
        async with self._db.session() as session:
            target = await session.get(Target, request.target_id)
            if target is None:
                raise ApplicationError(
                    f"target {request.target_id} does not exist", non_retryable=True
                )
            # Writing the account row first serialises reservations per account: a row lock on
            # PostgreSQL, the database write lock on SQLite. Two targets due together therefore
            # count each other, and never both take the last slot.
            await session.exec(
                update(Account)
                .where(col(Account.id) == target.account_id)
                .values(updated_at=Account.updated_at)
            )
            now = request.at
            mine = (
                await session.exec(select(PublishSlot).where(PublishSlot.target_id == target.id))
            ).first()
            longest = max(b.window for b in request.budgets)
            if mine is not None and now - mine.reserved_at < longest:
                await session.commit()
                return SlotDecision()  # an activity retry: the slot is already ours

            wait = timedelta(0)
            for budget in request.budgets:
                since = now - budget.window
                in_window = select(PublishSlot.reserved_at).where(
                    PublishSlot.account_id == target.account_id,
                    col(PublishSlot.reserved_at) > since,
                )
                count = (
                    await session.exec(select(func.count()).select_from(in_window.subquery()))
                ).one()
                if count >= budget.limit:
                    # Room comes back when enough of the oldest slots leave the window.
                    times = (
                        await session.exec(in_window.order_by(col(PublishSlot.reserved_at)))
                    ).all()
                    frees_at = times[count - budget.limit] + budget.window
                    wait = max(wait, frees_at - now)
            if wait > timedelta(0):
                await session.commit()
                return SlotDecision(wait=wait)
            if mine is not None:
                mine.reserved_at = now
                session.add(mine)
            else:
                session.add(
                    PublishSlot(account_id=target.account_id, target_id=target.id, reserved_at=now)
                )
            await session.commit()
            return SlotDecision()
