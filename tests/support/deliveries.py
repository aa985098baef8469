"""Starting one target's delivery from a test, as the API does: save the post and the target,
then start its workflow (api/services/scheduling.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client

from api.services.scheduling import TargetHandle, schedule_targets
from core.config import Settings
from core.db import Database
from core.models import Post, Target


async def start_delivery(
    db: Database,
    temporal: Client,
    settings: Settings,
    post: Post,
    target: Target,
    *,
    due: datetime | None = None,
) -> TargetHandle:
    async with db.session() as session:
        session.add(post)
        session.add(target)
        [handle] = await schedule_targets(
            session=session,
            temporal=temporal,
            settings=settings,
            post=post,
            targets=[target],
            due=due,
        )
    return handle
