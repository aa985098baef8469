"""Keeping a post's aggregate status in step with its targets (the API and the activities
both change targets, so both call this before they commit)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Post, Target
from core.status import aggregate_status


async def refresh_post_status(session: AsyncSession, post_id: str) -> None:
    await session.flush()
    statuses = (await session.exec(select(Target.status).where(Target.post_id == post_id))).all()
    post = await session.get(Post, post_id)
    if post is not None:
        post.status = aggregate_status(statuses)
        session.add(post)
