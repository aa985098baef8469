"""The attempt ledger: every call that can make a post public is written down before it is made.

An attempt is `sent` before the call and `confirmed` or `failed` after it. When the answer is
lost (a timeout after sending, a dropped connection, a 5xx) it is `unknown`; a worker killed
mid-call leaves it `sent`. Either way the next try first asks the platform whether the post
exists, and records what it learns: `found` (the post is live: recorded, not posted again) or
`not_found` (it never landed: post now). A platform with no way to look leaves the target
`unconfirmed`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, insert, or_, update
from sqlmodel import col, select

from activities.fire_stops import TARGET, claimable
from activities.tenant_notices import tell_tenant
from core.batching import Batcher
from core.db import Database, one_item_could_cause, utcnow
from core.models import Account, Attempt, Post, Target, new_id
from core.post_status import refresh_post_status, refresh_post_statuses
from core.status import SETTLED_OUTCOMES, UNRESOLVED_OUTCOMES, AttemptOutcome, TargetStatus
from providers.base import PostContent, Published
from providers.errors import ProviderError, TransientError

log = logging.getLogger(__name__)

# States the publish activity itself ends in; finding one means an earlier try already did it.
DELIVERED = (TargetStatus.PUBLISHED, TargetStatus.DRAFTED, TargetStatus.READY_FOR_MANUAL)
# A target whose post is live but a part after it failed: the post itself is settled.
SETTLED = (*DELIVERED, TargetStatus.UNCONFIRMED, TargetStatus.PARTIALLY_PUBLISHED)
ATTEMPT = Attempt.__table__  # type: ignore[attr-defined]
POST = Post.__table__  # type: ignore[attr-defined]


def content_fingerprint(content: PostContent) -> str:
    """Identifies what was sent, so a later attempt can recognise its own post on the platform."""
    digest = hashlib.sha256()
    for part in (content.text, *content.media_urls, content.link or ""):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def unchanged_since(openings: list[Opening]) -> ColumnElement[bool]:
    """Targets not settled, whose attempt count is still the one each opening saw (or that
    asked for no such check): one compare-and-set for a whole batch. Settled counts too: a
    try that read the target just before another try's success was recorded would otherwise
    find no open attempt to look up, and post again."""
    unsettled: ColumnElement[bool] = TARGET.c.status.not_in([s.value for s in SETTLED])
    seen = {o.target_id: o.after for o in openings if o.after is not None}
    if not seen:
        return unsettled
    return and_(
        unsettled,
        or_(
            TARGET.c.id.not_in(list(seen)),
            TARGET.c.attempt_count == case(seen, value=TARGET.c.id),
        ),
    )


def may_have_landed(error: ProviderError) -> bool:
    return isinstance(error, TransientError) and error.maybe_sent


@dataclass(frozen=True)
class Opening:
    target_id: str
    fingerprint: str
    send_by: datetime
    fire_id: str | None  # a publish that waited for its time claims the target (fire_stops.py)
    # The target's attempt count this try saw when it looked for earlier tries: the attempt
    # opens only if no other try opened one since (None: no such check).
    after: int | None = None


@dataclass(frozen=True)
class Opened:
    """An attempt just written, `sent` until the call's answer says otherwise."""

    id: str
    number: int
    started_at: datetime
    send_by: datetime


@dataclass(frozen=True)
class Success:
    target_id: str
    attempt_id: str
    published: Published
    status: TargetStatus
    delivered_by: str
    found: bool


class Ledger:
    """Opening attempts and recording successes go through a `Batcher`: at a burst's instant
    every publish that fires writes in one shared transaction instead of queueing for its own."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # An opening whose try was cancelled while it queued is not written: nobody would send.
        self._openings = Batcher(
            self._open_all,
            key=lambda o: o.target_id,
            fails_alone=one_item_could_cause,
            keep_abandoned=False,
        )
        # A success is written even if its try was cancelled meanwhile: the post is live.
        self._successes = Batcher(
            self._succeed_all, key=lambda s: s.target_id, fails_alone=one_item_could_cause
        )

    async def open(
        self,
        target_id: str,
        content: PostContent,
        *,
        budget: timedelta,
        fire_id: str | None = None,
        after: int | None = None,
    ) -> Opened | None:
        """Write the attempt, committed, before the platform is called; its calls must leave
        within `budget`. With `fire_id` (a publish that waited for its time), the target is
        claimed in the same transaction, and None comes back if an update stopped it.

        With `after`, None comes back if the target's attempt count is no longer `after`:
        another try of the same target (Temporal's retry of a try that timed out while it
        still ran, say) opened an attempt since this one looked, and may be sending now."""
        return await self._openings.submit(
            Opening(
                target_id=target_id,
                fingerprint=content_fingerprint(content),
                send_by=utcnow() + budget,
                fire_id=fire_id,
                after=after,
            )
        )

    async def _open_all(self, openings: list[Opening]) -> list[Opened | None]:
        # Core statements, not ORM objects: at a burst's instant this is on every publish's
        # path, and building a thousand table models costs more than writing their rows.
        now = utcnow()
        fire_ids = [o.fire_id for o in openings if o.fire_id is not None]
        taken: dict[str, int] = {}
        posts: set[str] = set()
        async with self._db.session() as session:
            connection = await session.connection()
            for fired in (True, False):
                ids = [o.target_id for o in openings if (o.fire_id is not None) is fired]
                if not ids:
                    continue
                rows = await connection.execute(
                    update(TARGET)
                    .where(
                        TARGET.c.id.in_(ids),
                        claimable(fire_ids) if fired else unchanged_since(openings),
                    )
                    .values(
                        status=TargetStatus.PUBLISHING,
                        attempt_count=TARGET.c.attempt_count + 1,
                        updated_at=now,
                    )
                    .returning(TARGET.c.id, TARGET.c.attempt_count, TARGET.c.post_id)
                )
                for target_id, number, post_id in rows:
                    taken[target_id] = number
                    posts.add(post_id)
            opened = {
                o.target_id: Opened(
                    id=new_id(), number=taken[o.target_id], started_at=now, send_by=o.send_by
                )
                for o in openings
                if o.target_id in taken
            }
            if opened:
                await connection.execute(
                    insert(ATTEMPT),
                    [
                        {
                            "id": attempt.id,
                            "target_id": o.target_id,
                            "number": attempt.number,
                            "outcome": AttemptOutcome.SENT,
                            "fingerprint": o.fingerprint,
                            "started_at": now,
                            "send_by": o.send_by,
                        }
                        for o in openings
                        if (attempt := opened.get(o.target_id)) is not None
                    ],
                )
                # With one target publishing, a post's aggregate is `publishing`, whatever
                # its other targets are (core/status.aggregate_status).
                await connection.execute(
                    update(POST)
                    .where(POST.c.id.in_(posts))
                    .values(status=TargetStatus.PUBLISHING.value)
                )
            await session.commit()
        return [opened.get(o.target_id) for o in openings]

    async def unresolved(self, target_id: str) -> Attempt | None:
        """The latest attempt, if nobody knows whether its post went out."""
        async with self._db.session() as session:
            latest = (
                await session.exec(
                    select(Attempt)
                    .where(Attempt.target_id == target_id, Attempt.part == 0)
                    .order_by(col(Attempt.number).desc())
                    .limit(1)
                )
            ).first()
        return latest if latest is not None and latest.outcome in UNRESOLVED_OUTCOMES else None

    async def succeeded(
        self,
        target_id: str,
        attempt_id: str,
        published: Published,
        *,
        status: TargetStatus,
        delivered_by: str,
        found: bool = False,
    ) -> None:
        """The post is live: by the call's own answer, or `found` by a later lookup."""
        await self._successes.submit(
            Success(target_id, attempt_id, published, status, delivered_by, found)
        )
        outcome = AttemptOutcome.FOUND if found else AttemptOutcome.CONFIRMED
        log.info("target %s attempt %s %s", target_id, attempt_id, outcome)

    async def _succeed_all(self, successes: list[Success]) -> list[None]:
        now = utcnow()
        async with self._db.session() as session:
            attempts = {
                a.id: a
                for a in await session.exec(
                    select(Attempt).where(col(Attempt.id).in_([s.attempt_id for s in successes]))
                )
            }
            targets = {
                t.id: t
                for t in await session.exec(
                    select(Target).where(col(Target.id).in_([s.target_id for s in successes]))
                )
            }
            # Held here so the identity map keeps them: tell_tenant looks each one up.
            accounts = (
                await session.exec(
                    select(Account).where(
                        col(Account.id).in_({t.account_id for t in targets.values()})
                    )
                )
            ).all()
            for s in successes:
                attempt, target = attempts[s.attempt_id], targets[s.target_id]
                # A try that outlived its timeout may report after a later one found its post.
                attempt.outcome = (
                    AttemptOutcome.FOUND
                    if s.found or attempt.outcome == AttemptOutcome.FOUND
                    else AttemptOutcome.CONFIRMED
                )
                attempt.finished_at = attempt.finished_at or now
                attempt.response_summary = f"id={s.published.external_id}" + (
                    "; found on the platform after the answer was lost" if s.found else ""
                )
                first_report = target.status != s.status
                target.status = s.status
                target.external_id = s.published.external_id
                target.external_url = s.published.url
                target.external_cid = s.published.cid
                # The post is live: its parts' platform errors are counted from nought.
                target.platform_errors = 0
                target.published_at = now
                target.delivered_by = s.delivered_by
                target.last_error = None
                target.updated_at = now
                if first_report:
                    await tell_tenant(session, target, s.status, None)
                session.add(attempt)
                session.add(target)
            await refresh_post_statuses(session, {t.post_id for t in targets.values()})
            await session.commit()
        del accounts
        return [None] * len(successes)

    async def accepted(self, attempt_id: str) -> None:
        """The platform took the call (TikTok's init): the post is on its way, not yet live."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.outcome = AttemptOutcome.CONFIRMED
            attempt.finished_at = utcnow()
            attempt.response_summary = "accepted; the platform is processing it"
            session.add(attempt)
            await session.commit()

    async def failed(self, target_id: str, attempt_id: str, error: ProviderError) -> None:
        """The call failed: `unknown` if the platform may have acted anyway, else `failed`."""
        now = utcnow()
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            target = await session.get(Target, target_id)
            assert attempt is not None and target is not None
            if attempt.outcome in SETTLED_OUTCOMES:
                return  # a later try already settled it (found or not found on the platform)
            attempt.outcome = (
                AttemptOutcome.UNKNOWN if may_have_landed(error) else AttemptOutcome.FAILED
            )
            attempt.finished_at = now
            attempt.error_kind = error.kind
            attempt.error_code = error.code
            attempt.error = error.message
            target.last_error = error.summary()
            target.updated_at = now
            session.add(attempt)
            session.add(target)
            await session.commit()
        log.info("target %s attempt %s %s", target_id, attempt_id, attempt.outcome)

    async def not_found(self, attempt_id: str) -> None:
        """The lookup showed the attempt's post never landed: posting again is safe."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.outcome = AttemptOutcome.NOT_FOUND
            attempt.finished_at = attempt.finished_at or utcnow()
            attempt.response_summary = "not on the platform: the call never landed"
            session.add(attempt)
            await session.commit()

    async def unconfirmed(self, target_id: str, attempt_id: str, reason: str) -> None:
        """Nobody can tell: end the target `unconfirmed` rather than risk a second post."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            target = await session.get(Target, target_id)
            assert attempt is not None and target is not None
            attempt.outcome = AttemptOutcome.UNKNOWN
            attempt.finished_at = attempt.finished_at or utcnow()
            if target.status != TargetStatus.UNCONFIRMED:
                await tell_tenant(session, target, TargetStatus.UNCONFIRMED, reason)
            target.status = TargetStatus.UNCONFIRMED
            target.last_error = reason
            target.updated_at = utcnow()
            session.add(attempt)
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()
