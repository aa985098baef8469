"""What the activities tell a tenant when a target ends: a notification for a person when the
end waits on one (core/status.py NOTIFY_STATUSES), and an event for machines."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.events import EventType, record_event, target_data
from core.models import Account, Notification, Target
from core.status import FAILED_ENDS, NOTIFY_STATUSES, TargetStatus

# The event each end emits. Cancelled and rejected emit none: a person at the tenant did that.
EVENT_OF: dict[TargetStatus, EventType] = {
    **dict.fromkeys(FAILED_ENDS, EventType.POST_FAILED),
    TargetStatus.UNCONFIRMED: EventType.POST_UNCONFIRMED,
    TargetStatus.PARTIALLY_PUBLISHED: EventType.POST_PARTIALLY_PUBLISHED,
    TargetStatus.PUBLISHED: EventType.POST_PUBLISHED,
    TargetStatus.DRAFTED: EventType.POST_DRAFTED,
    TargetStatus.READY_FOR_MANUAL: EventType.POST_READY_FOR_MANUAL,
}

# Ends told in social.post_published's shape: what the platform answered, not an error. A
# draft may have no public link and a post left to a person has none: no `url` then.
PUBLISHED_SHAPE = frozenset(
    {TargetStatus.PUBLISHED, TargetStatus.DRAFTED, TargetStatus.READY_FOR_MANUAL}
)


async def tell_tenant(
    session: AsyncSession, target: Target, status: TargetStatus, detail: str | None
) -> None:
    """Call with the target's new status before it is written, once per transition."""
    kind = EVENT_OF.get(status)
    notify = status in NOTIFY_STATUSES
    if kind is None and not notify:
        return
    account = await session.get(Account, target.account_id)
    assert account is not None
    if notify:
        session.add(
            Notification(
                tenant_id=target.tenant_id,
                is_test=account.is_sandbox,
                kind=f"target_{status.value}",
                post_id=target.post_id,
                target_id=target.id,
                message=f"{target.platform} target {status.value}: {detail or 'no detail'}",
            )
        )
    if kind is None:
        return
    extra: dict[str, Any] = {"error": detail}
    if status in PUBLISHED_SHAPE:
        extra = {
            "url": target.external_url,
            "external_id": target.external_id,
            "published_at": target.published_at,
            "delivered_by": target.delivered_by,
        }
        if status != TargetStatus.PUBLISHED and target.external_url is None:
            del extra["url"]
    if target.parts_published is not None:
        extra["parts"] = target.parts_published  # the live parts after the post
    data = target_data(target, project_id=account.project_id, **extra)
    data["status"] = status.value
    record_event(
        session, tenant_id=target.tenant_id, is_test=account.is_sandbox, type=kind, data=data
    )
