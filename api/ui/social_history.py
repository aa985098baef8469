"""A post's History (seed 001's History modal, as a page): every attempt per target with its
time, outcome and the platform's answer, and Retry and Cancel (the reviewer pages' own
actions, POST /ui/targets/{id}/retry and /ui/posts/{id}/cancel, which come back here)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from api.deps import SessionDep, SettingsDep
from api.post_queries import targets_of
from api.schemas import TargetPublic
from api.ui.auth import PUBLISH
from api.ui.pages import _render, page_post
from api.ui.social_common import missing_scope_reason
from api.ui.social_views import dot_of
from api.ui.views import account_names
from api.views import target_view
from core.models import Attempt
from core.status import PENDING_STATUSES, RETRYABLE_STATUSES

router = APIRouter()


@dataclass(frozen=True)
class TargetHistory:
    target: TargetPublic
    account: str
    dot: str
    attempts: list[Attempt]
    retryable: bool


@router.get("/posts/{post_id}/history", response_model=None)
async def history(
    post_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    opened = await page_post(request, session, post_id)
    if not isinstance(opened, tuple):
        return opened
    who, post = opened
    targets = await targets_of(session, post.id)
    names = await account_names(session, {t.account_id for t in targets})
    attempts: dict[str, list[Attempt]] = {}
    if targets:
        rows = await session.exec(
            select(Attempt)
            .where(col(Attempt.target_id).in_([t.id for t in targets]))
            .order_by(col(Attempt.started_at), col(Attempt.number))
        )
        for attempt in rows.all():
            attempts.setdefault(attempt.target_id, []).append(attempt)
    return _render(
        request,
        "history.html",
        who,
        post=post,
        rows=[
            TargetHistory(
                target=target_view(t, settings),
                account=names.get(t.account_id, t.account_id),
                dot=dot_of(t.status),
                attempts=attempts.get(t.id, []),
                retryable=t.status in RETRYABLE_STATUSES,
            )
            for t in targets
        ],
        cancellable=any(t.status in PENDING_STATUSES for t in targets),
        publish_refusal=missing_scope_reason(who, PUBLISH),
        back=f"/ui/posts/{post.id}/history",
    )
