"""Notifications the activities record for a tenant."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Notification, Target
from core.status import NOTIFY_STATUSES, TargetStatus


def notify_if_needed(
    session: AsyncSession, target: Target, status: TargetStatus, detail: str | None
) -> None:
    if status not in NOTIFY_STATUSES:
        return
    session.add(
        Notification(
            tenant_id=target.tenant_id,
            kind=f"target_{status.value}",
            post_id=target.post_id,
            target_id=target.id,
            message=f"{target.platform} target {status.value}: {detail or 'no detail'}",
        )
    )
