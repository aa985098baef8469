"""What the activities tell a tenant when a target ends: a notification, and an event."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.events import EventType, record_event, target_data
from core.models import Account, Notification, Target
from core.status import FAILED_ENDS, NOTIFY_STATUSES, TargetStatus


async def tell_tenant(
    session: AsyncSession, target: Target, status: TargetStatus, detail: str | None
) -> None:
    """Call with the target's new status before it is written, once per transition."""
    if status in NOTIFY_STATUSES:
        session.add(
            Notification(
                tenant_id=target.tenant_id,
                kind=f"target_{status.value}",
                post_id=target.post_id,
                target_id=target.id,
                message=f"{target.platform} target {status.value}: {detail or 'no detail'}",
            )
        )
    if status in FAILED_ENDS:
        kind = EventType.POST_FAILED
    elif status == TargetStatus.UNCONFIRMED:
        kind = EventType.POST_UNCONFIRMED
    elif status == TargetStatus.PARTIALLY_PUBLISHED:
        kind = EventType.POST_PARTIALLY_PUBLISHED
    elif status == TargetStatus.PUBLISHED:
        kind = EventType.POST_PUBLISHED
    else:
        return
    account = await session.get(Account, target.account_id)
    assert account is not None
    extra: dict[str, Any] = (
        {
            "url": target.external_url,
            "external_id": target.external_id,
            "published_at": target.published_at,
            "delivered_by": target.delivered_by,
        }
        if status == TargetStatus.PUBLISHED
        else {"error": detail}
    )
    if target.parts_published is not None:
        extra["parts"] = target.parts_published  # the live parts after the post
    data = target_data(target, **extra)
    data["status"] = status.value
    record_event(
        session, tenant_id=target.tenant_id, is_test=account.is_sandbox, type=kind, data=data
    )
