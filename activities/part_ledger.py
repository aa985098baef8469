"""The attempt ledger for the parts after a post (thread replies, a first comment): one row per
try of each part, keyed by target and part, written before the platform is called. A try that
finds its part's last attempt unresolved looks on the platform before it posts again, as the
post's own ledger does (activities/ledger.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, func, select

from activities.ledger import content_fingerprint, may_have_landed
from core.db import Database, utcnow
from core.models import Attempt, Target
from core.status import AttemptOutcome
from providers.base import PostContent, Published
from providers.errors import ProviderError

log = logging.getLogger(__name__)


class PartLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self, target_id: str, index: int) -> Attempt | None:
        async with self._db.session() as session:
            return (
                await session.exec(
                    select(Attempt)
                    .where(Attempt.target_id == target_id, Attempt.part == index)
                    .order_by(col(Attempt.number).desc())
                    .limit(1)
                )
            ).first()

    async def open(
        self, target_id: str, index: int, content: PostContent, *, seen: int, send_by: datetime
    ) -> Attempt | None:
        """Write the part's next try, unless another try wrote one since this one looked and
        saw its latest number as `seen` (None then: that try may be sending now). Committed
        before the call."""
        async with self._db.session() as session:
            # Writing the target row first takes the row lock (the write lock on SQLite), so
            # two tries of one part count their attempts one after the other.
            target = await session.get(Target, target_id, with_for_update=True)
            assert target is not None
            target.updated_at = utcnow()
            session.add(target)
            await session.flush()
            latest = (
                await session.exec(
                    select(func.max(Attempt.number)).where(
                        Attempt.target_id == target_id, Attempt.part == index
                    )
                )
            ).one()
            if (latest or 0) != seen:
                await session.rollback()
                return None
            # Numbers run on from the post's own attempts: one sequence per target.
            last = (
                await session.exec(
                    select(func.max(Attempt.number)).where(Attempt.target_id == target_id)
                )
            ).one()
            attempt = Attempt(
                target_id=target_id,
                part=index,
                number=(last or 0) + 1,
                outcome=AttemptOutcome.SENT,
                fingerprint=content_fingerprint(content),
                send_by=send_by,
            )
            session.add(attempt)
            await session.commit()
            return attempt

    async def succeeded(
        self, target_id: str, attempt_id: str, index: int, published: Published, *, found: bool
    ) -> None:
        """The part is live: its attempt settled and its ids added to the target's list."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            target = await session.get(Target, target_id, with_for_update=True)
            assert attempt is not None and target is not None
            attempt.outcome = AttemptOutcome.FOUND if found else AttemptOutcome.CONFIRMED
            attempt.finished_at = attempt.finished_at or utcnow()
            attempt.response_summary = f"id={published.external_id}" + (
                "; found on the platform after the answer was lost" if found else ""
            )
            live = [p for p in target.parts_published or [] if p["index"] != index]
            live.append({"index": index, **published.model_dump()})
            target.parts_published = sorted(live, key=lambda p: int(p["index"]))
            target.updated_at = utcnow()
            session.add(attempt)
            session.add(target)
            await session.commit()
        log.info("target %s part %d attempt %s %s", target_id, index, attempt_id, attempt.outcome)

    async def failed(self, attempt_id: str, error: ProviderError) -> None:
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.outcome = (
                AttemptOutcome.UNKNOWN if may_have_landed(error) else AttemptOutcome.FAILED
            )
            attempt.finished_at = utcnow()
            attempt.error_kind = error.kind
            attempt.error_code = error.code
            attempt.error = error.message
            session.add(attempt)
            await session.commit()

    async def settle(self, attempt_id: str, outcome: AttemptOutcome, summary: str) -> None:
        """A lookup's answer on an unresolved attempt: not found, or nobody can tell."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.outcome = outcome
            attempt.finished_at = attempt.finished_at or utcnow()
            attempt.response_summary = summary
            session.add(attempt)
            await session.commit()
