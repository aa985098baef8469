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
from datetime import timedelta

from sqlmodel import col, select

from activities.on_time import claim
from activities.records import tell_tenant
from core.db import Database, utcnow
from core.models import Attempt, Target
from core.post_status import refresh_post_status
from core.status import UNRESOLVED_OUTCOMES, AttemptOutcome, TargetStatus
from providers.base import PostContent, Published
from providers.errors import ProviderError, TransientError

log = logging.getLogger(__name__)

CONFIRMED = AttemptOutcome.CONFIRMED.value
FAILED = AttemptOutcome.FAILED.value
UNKNOWN = AttemptOutcome.UNKNOWN.value
FOUND = AttemptOutcome.FOUND.value
NOT_FOUND = AttemptOutcome.NOT_FOUND.value
UNRESOLVED = tuple(o.value for o in UNRESOLVED_OUTCOMES)
SETTLED_OUTCOMES = (FOUND, NOT_FOUND, CONFIRMED)


def content_fingerprint(content: PostContent) -> str:
    """Identifies what was sent, so a later attempt can recognise its own post on the platform."""
    digest = hashlib.sha256()
    for part in (content.text, *content.media_urls, content.link or ""):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def may_have_landed(error: ProviderError) -> bool:
    return isinstance(error, TransientError) and error.maybe_sent


class Ledger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self, target_id: str, content: PostContent, *, budget: timedelta, fire_id: str | None = None
    ) -> Attempt | None:
        """Write the attempt, committed, before the platform is called; its calls must leave
        within `budget`. With `fire_id` (a publish that waited for its time), the target is
        claimed in the same transaction, and None comes back if an update stopped it."""
        async with self._db.session() as session:
            if fire_id is not None and not await claim(session, target_id, fire_id):
                await session.rollback()
                return None
            target = await session.get(Target, target_id)
            assert target is not None
            target.status = TargetStatus.PUBLISHING
            target.attempt_count += 1
            target.updated_at = utcnow()
            attempt = Attempt(
                target_id=target.id,
                number=target.attempt_count,
                fingerprint=content_fingerprint(content),
                send_by=utcnow() + budget,
            )
            session.add(target)
            session.add(attempt)
            await refresh_post_status(session, target.post_id)
            await session.commit()
            return attempt

    async def unresolved(self, target_id: str) -> Attempt | None:
        """The latest attempt, if nobody knows whether its post went out."""
        async with self._db.session() as session:
            latest = (
                await session.exec(
                    select(Attempt)
                    .where(Attempt.target_id == target_id)
                    .order_by(col(Attempt.number).desc())
                    .limit(1)
                )
            ).first()
        return latest if latest is not None and latest.outcome in UNRESOLVED else None

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
        now = utcnow()
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            target = await session.get(Target, target_id)
            assert attempt is not None and target is not None
            # A try that outlived its timeout may report after a later one found its post.
            attempt.outcome = FOUND if found or attempt.outcome == FOUND else CONFIRMED
            attempt.finished_at = attempt.finished_at or now
            attempt.response_summary = f"id={published.external_id}" + (
                "; found on the platform after the answer was lost" if found else ""
            )
            first_report = target.status != status
            target.status = status
            target.external_id = published.external_id
            target.external_url = published.url
            target.published_at = now
            target.delivered_by = delivered_by
            target.last_error = None
            target.updated_at = now
            if first_report:
                await tell_tenant(session, target, status, None)
            session.add(attempt)
            session.add(target)
            await refresh_post_status(session, target.post_id)
            await session.commit()
        log.info("target %s attempt %s %s", target_id, attempt_id, attempt.outcome)

    async def accepted(self, attempt_id: str) -> None:
        """The platform took the call (TikTok's init): the post is on its way, not yet live."""
        async with self._db.session() as session:
            attempt = await session.get(Attempt, attempt_id)
            assert attempt is not None
            attempt.outcome = CONFIRMED
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
            attempt.outcome = UNKNOWN if may_have_landed(error) else FAILED
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
            attempt.outcome = NOT_FOUND
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
            attempt.outcome = UNKNOWN
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
