"""Keeping a post's aggregate status in step with its targets (the API and the activities
both change targets, so both call this before they commit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Post, Target
from core.status import aggregate_status


async def refresh_post_status(session: AsyncSession, post_id: str) -> None:
    await refresh_post_statuses(session, (post_id,))


async def refresh_post_statuses(session: AsyncSession, post_ids: Collection[str]) -> None:
    """The same for many posts in two queries, however many there are (a burst's batch)."""
    if not post_ids:
        return
    await session.flush()
    statuses: dict[str, list[str]] = defaultdict(list)
    rows = await session.exec(
        select(Target.post_id, Target.status).where(col(Target.post_id).in_(post_ids))
    )
    for post_id, status in rows:
        statuses[post_id].append(status)
    for post in await session.exec(select(Post).where(col(Post.id).in_(post_ids))):
        post.status = aggregate_status(statuses[post.id])
        session.add(post)
