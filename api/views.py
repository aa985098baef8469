"""Turning tables into public schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlmodel.ext.asyncio.session import AsyncSession

from api.post_queries import targets_of
from api.schemas import (
    AccountPublic,
    ApprovalPublic,
    AttemptPublic,
    MediaPublic,
    PartAsked,
    PartPublic,
    PostPublic,
    TargetPublic,
)
from core.config import Settings
from core.media_alt import aligned
from core.messages.delivery import TargetState
from core.models import Account, Attempt, Post, Target
from core.status import aggregate_status


def temporal_url(settings: Settings, workflow_id: str | None) -> str | None:
    if workflow_id is None:
        return None
    return (
        f"{settings.temporal_ui_url.rstrip('/')}/namespaces/"
        f"{quote(settings.temporal_namespace)}/workflows/{quote(workflow_id)}"
    )


def media_view(urls: Sequence[str], alts: Sequence[str | None] | None) -> list[MediaPublic]:
    pairs = zip(urls, aligned(urls, alts), strict=True)
    return [MediaPublic(url=url, alt=alt) for url, alt in pairs]


def part_view(stored: dict[str, Any]) -> PartAsked:
    """A stored part (PartIn.stored) as asked for; parts stored before media have none."""
    urls = [str(u) for u in stored.get("media_urls") or []]
    return PartAsked(
        body=str(stored["body"]),
        delay_seconds=int(stored.get("delay_seconds", 0)),
        media_urls=urls,
        media=media_view(urls, stored.get("media_alt")),
    )


def target_view(target: Target, settings: Settings) -> TargetPublic:
    return TargetPublic(
        id=target.id,
        post_id=target.post_id,
        account_id=target.account_id,
        platform=target.platform,
        mode=target.mode,
        override_body=target.override_body,
        override_media_urls=target.override_media_urls,
        override_media=(
            media_view(target.override_media_urls, target.override_media_alt)
            if target.override_media_urls is not None
            else None
        ),
        options=dict(target.options),
        status=target.status,
        scheduled_for=target.scheduled_for,
        published_at=target.published_at,
        external_id=target.external_id,
        url=target.external_url,
        delivered_by=target.delivered_by,
        parts=[
            PartPublic(index=int(p["index"]), external_id=str(p["external_id"]), url=p.get("url"))
            for p in target.parts_published or []
        ],
        last_error=target.last_error,
        attempts=target.attempt_count,
        workflow_id=target.workflow_id,
        temporal_url=temporal_url(settings, target.workflow_id),
    )


def post_view(post: Post, targets: Sequence[Target], settings: Settings) -> PostPublic:
    return PostPublic(
        id=post.id,
        status=post.status,
        body=post.body,
        media_urls=list(post.media_urls),
        media=media_view(post.media_urls, post.media_alt),
        link=post.link,
        parts=[part_view(p) for p in post.parts or []],
        is_test=post.is_test,
        project_id=post.project_id,
        scheduled_for=post.scheduled_for,
        approval=ApprovalPublic(
            required=bool(post.requires_approval),
            state=post.approval_state,
            deadline=post.approval_deadline,
            reviewed_by=post.reviewed_by,
            comment=post.review_comment,
            reviewed_at=post.reviewed_at,
        ),
        created_at=post.created_at,
        updated_at=post.updated_at,
        targets=[target_view(t, settings) for t in targets],
    )


def account_view(account: Account) -> AccountPublic:
    return AccountPublic(
        id=account.id,
        platform=account.platform,
        external_id=account.external_id,
        display_name=account.display_name,
        status=account.status,
        is_sandbox=account.is_sandbox,
        project_id=account.project_id,
        token_expires_at=account.token_expires_at,
        status_reason=account.status_reason,
    )


def attempt_view(attempt: Attempt) -> AttemptPublic:
    return AttemptPublic(
        number=attempt.number,
        part=attempt.part,
        outcome=attempt.outcome,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        error_class=attempt.error_kind,
        platform_code=attempt.error_code,
        message=attempt.error,
    )


async def post_now(
    session: AsyncSession,
    settings: Settings,
    post: Post,
    live: dict[str, TargetState] | None = None,
) -> PostPublic:
    """The post as it is now. Workflows record their changes before answering an update, but
    a publish that has just begun is in the workflow's state before the database's, so the
    states the workflows answered (`live`) win."""
    await session.refresh(post)
    view = post_view(post, await targets_of(session, post.id), settings)
    if live:
        targets = [
            t.model_copy(update={"status": live[t.id].status}) if t.id in live else t
            for t in view.targets
        ]
        view = view.model_copy(
            update={"targets": targets, "status": aggregate_status(t.status for t in targets)}
        )
    return view
