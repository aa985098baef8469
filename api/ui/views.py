"""What the pages show, built from the tables: previews per platform, timelines, calendar days."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.media_facts import VIDEO_SUFFIXES
from api.post_queries import targets_of
from api.preview import target_preview
from api.schemas import AttemptPublic, TargetPreview, TargetPublic
from api.views import attempt_view, target_view
from core.config import Settings
from core.models import Account, Attempt, Post, Target


@dataclass(frozen=True)
class Media:
    url: str
    is_video: bool


@dataclass(frozen=True)
class Preview:
    """One target as its platform will show it, and how it measures against the limit."""

    target: TargetPublic
    account: str
    text: str
    count: int
    limit: int
    unit: str
    media: list[Media]
    max_media: int
    sent: TargetPreview  # what the platform receives: the dry run's preview (api/preview.py)
    attempts: list[AttemptPublic] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.count > self.limit or len(self.media) > self.max_media


@dataclass(frozen=True)
class PostPage:
    post: Post
    previews: list[Preview]


def _media(urls: list[str]) -> list[Media]:
    return [Media(url=u, is_video=u.lower().split("?")[0].endswith(VIDEO_SUFFIXES)) for u in urls]


async def account_names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    found = await session.exec(select(Account).where(col(Account.id).in_(ids)))
    return {a.id: a.display_name for a in found.all()}


async def post_page(
    session: AsyncSession, settings: Settings, post: Post, *, with_attempts: bool = False
) -> PostPage:
    targets = await targets_of(session, post.id)
    names = await account_names(session, {t.account_id for t in targets})
    attempts: dict[str, list[AttemptPublic]] = defaultdict(list)
    if with_attempts and targets:
        rows = await session.exec(
            select(Attempt)
            .where(col(Attempt.target_id).in_([t.id for t in targets]))
            .order_by(col(Attempt.number))
        )
        for a in rows.all():
            attempts[a.target_id].append(attempt_view(a))
    return PostPage(
        post=post, previews=[_preview(t, post, names, attempts, settings) for t in targets]
    )


def _preview(
    target: Target,
    post: Post,
    names: dict[str, str],
    attempts: dict[str, list[AttemptPublic]],
    settings: Settings,
) -> Preview:
    text = target.override_body if target.override_body is not None else post.body
    media = (
        target.override_media_urls if target.override_media_urls is not None else post.media_urls
    )
    sent = target_preview(
        target.platform,
        text=text,
        media_urls=media,
        link=post.link,
        options=target.options,
        mode=target.mode,
        parts=[
            (str(part["body"]), [str(u) for u in part.get("media_urls") or []])
            for part in post.parts or []
        ],
    )
    return Preview(
        target=target_view(target, settings),
        account=names.get(target.account_id, target.account_id),
        text=text,
        count=sent.length.count,
        limit=sent.length.max,
        unit=sent.length.unit,
        media=_media(media),
        max_media=sent.max_media,
        sent=sent,
        attempts=attempts.get(target.id, []),
    )


@dataclass(frozen=True)
class CalendarEntry:
    post: Post
    when: datetime
    targets: list[TargetPublic]


def when_of(post: Post) -> datetime:
    return post.scheduled_for or post.created_at


def by_day(entries: list[CalendarEntry]) -> dict[date, list[CalendarEntry]]:
    days: dict[date, list[CalendarEntry]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.when):
        days[entry.when.date()].append(entry)
    return dict(days)
