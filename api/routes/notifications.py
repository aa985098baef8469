"""The tenant's inbox: what a person should hear about (a target that failed, died, was missed,
expired, or waits to be posted by hand; a token that expired, ...), listed and marked read.

Rows are written where the change happens (activities/tenant_notices.py and its neighbours),
in the same transaction; machines hear the same changes as events (core/events.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller, ManagerDep, SessionDep, ViewerDep
from api.errors import ApiError, problem
from api.schemas import (
    Envelope,
    ListEnvelope,
    ListMeta,
    NotificationPublic,
    NotificationsMarked,
    NotificationsRead,
)
from core.db import utcnow
from core.models import Notification, Post
from core.status import NOTIFY_STATUSES

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])

# Every kind a writer uses: a misspelt `kind` filter is refused, not answered with nothing.
KINDS = frozenset(
    {f"target_{status.value}" for status in NOTIFY_STATUSES}
    | {"token_expired", "account_connected", "account_disconnected", "webhook_disabled"}
    | {"engagement_low"}
)


def _view(row: Notification) -> NotificationPublic:
    return NotificationPublic(
        id=row.id,
        kind=row.kind,
        message=row.message,
        post_id=row.post_id,
        target_id=row.target_id,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def _inbox(caller: Caller) -> list[ColumnElement[bool]]:
    """The caller's tenant and mode: a sandbox key never sees a live account's alerts. A key
    limited to projects sees only the alerts about its projects' posts: an alert about no post
    (an account connected, a token expired) names accounts it may not know of."""
    where = [
        col(Notification.tenant_id) == caller.tenant_id,
        col(Notification.is_test) == caller.is_test,
    ]
    if caller.project_ids is not None:
        own = select(Post.id).where(col(Post.project_id).in_(sorted(caller.project_ids)))
        where.append(col(Notification.post_id).in_(own))
    return where


def _kinds(asked: list[str]) -> list[str]:
    """`kind=a&kind=b` and `kind=a,b` alike; each must be a kind crier writes."""
    kinds = [k.strip() for value in asked for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ApiError(
            422,
            "invalid_request",
            f"{len(unknown)} unknown kind(s); the kinds are {', '.join(sorted(KINDS))}",
            [problem(["query", "kind"], f"{k!r} is not a kind") for k in unknown],
        )
    return kinds


@router.get("", response_model=ListEnvelope[NotificationPublic])
async def list_notifications(
    caller: ViewerDep,
    session: SessionDep,
    kind: Annotated[
        list[Annotated[str, Field(max_length=500)]] | None,
        Query(max_length=20, description="Only these kinds: repeat it, or separate by commas."),
    ] = None,
    unread: Annotated[
        bool | None, Query(description="true: only unread ones; false: only read ones.")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Created at or after this time (with offset).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Created before this time (with offset).")
    ] = None,
    post_id: Annotated[str | None, Query(max_length=36, description="About this post.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    # Bounded as GET /v1/posts: a database integer is 64-bit.
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> ListEnvelope[NotificationPublic]:
    """Newest first, of the key's tenant and mode."""
    if since is not None and until is not None and since > until:
        raise ApiError(
            422,
            "invalid_request",
            "1 problem(s) in the request",
            [problem(["query", "until"], "is before `since`: the window holds nothing")],
        )
    where = _inbox(caller)
    if kind:
        where.append(col(Notification.kind).in_(_kinds(kind)))
    if unread is not None:
        read_at = col(Notification.read_at)
        where.append(read_at.is_(None) if unread else read_at.is_not(None))
    if since is not None:
        where.append(col(Notification.created_at) >= since)
    if until is not None:
        where.append(col(Notification.created_at) < until)
    if post_id is not None:
        where.append(col(Notification.post_id) == post_id)
    total = (await session.exec(select(func.count()).where(*where))).one()
    rows = (
        await session.exec(
            select(Notification)
            .where(*where)
            .order_by(col(Notification.created_at).desc(), col(Notification.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return ListEnvelope(
        data=[_view(r) for r in rows],
        meta=ListMeta(count=len(rows), total=total, limit=limit, offset=offset),
    )


# Marking read takes social.manage, not social.view: the inbox is the tenant's (every key of
# its mode reads the same rows), so a read-only key, handed to a dashboard or a stream reader,
# must not be able to hide an alert from the people who act on it.


@router.post("/read", response_model=Envelope[NotificationsMarked])
async def mark_notifications_read(
    payload: NotificationsRead, caller: ManagerDep, session: SessionDep
) -> Envelope[NotificationsMarked]:
    """`{"ids": [...]}` (at most 100) or `{"all": true}`. Ids are all or nothing: one unknown
    (or another tenant's or mode's) is a 404 naming each, and none is marked."""
    where = [*_inbox(caller), col(Notification.read_at).is_(None)]
    if payload.ids is not None:
        ids = list(dict.fromkeys(payload.ids))
        await _all_exist(session, caller, ids)
        where.append(col(Notification.id).in_(ids))
    marked = await session.exec(update(Notification).where(*where).values(read_at=utcnow()))
    await session.commit()
    return Envelope(data=NotificationsMarked(marked=marked.rowcount))


async def _all_exist(session: AsyncSession, caller: Caller, ids: list[str]) -> None:
    found = set(
        (
            await session.exec(
                select(Notification.id).where(*_inbox(caller), col(Notification.id).in_(ids))
            )
        ).all()
    )
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise ApiError(
            404,
            "not_found",
            f"{len(unknown)} of the notifications do not exist: none was marked read",
            [problem(["body", "ids", i], f"no notification {i}") for i in unknown],
        )


@router.post("/{notification_id}/read", response_model=Envelope[NotificationPublic])
async def mark_notification_read(
    notification_id: str, caller: ManagerDep, session: SessionDep
) -> Envelope[NotificationPublic]:
    """Marking one already read again keeps the time it was first read."""
    row = (
        await session.exec(
            select(Notification).where(*_inbox(caller), col(Notification.id) == notification_id)
        )
    ).first()
    if row is None:
        raise ApiError(404, "not_found", f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        await session.commit()
        await session.refresh(row)
    return Envelope(data=_view(row))
