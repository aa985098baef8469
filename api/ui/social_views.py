"""What the Social tab shows, built from the tables: a card per platform, and the board."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Caller
from api.post_queries import accounts_of
from api.schemas import TargetPublic
from api.views import target_view
from core.config import Settings
from core.models import Account, Post, Target
from core.status import AccountStatus, Platform, TargetStatus

# Seed 001's dots: green published, purple drafted, red failed; the rest grey.
DOTS = {
    TargetStatus.PUBLISHED: "published",
    TargetStatus.DRAFTED: "drafted",
    TargetStatus.READY_FOR_MANUAL: "drafted",
    TargetStatus.FAILED: "failed",
    TargetStatus.DEAD: "failed",
}
# The monogram's background: each platform's own colour, so a card reads at a glance.
COLOURS = {
    Platform.FACEBOOK: "#1877f2",
    Platform.INSTAGRAM: "#c13584",
    Platform.LINKEDIN: "#0a66c2",
    Platform.X: "#000000",
    Platform.GOOGLE_BUSINESS: "#34a853",
    Platform.THREADS: "#101010",
    Platform.BLUESKY: "#1185fe",
    Platform.PINTEREST: "#e60023",
    Platform.TIKTOK: "#25f4ee",
    Platform.YOUTUBE: "#ff0000",
}
NAMES = {
    Platform.GOOGLE_BUSINESS: "Google Business Profile",
    Platform.LINKEDIN: "LinkedIn",
    Platform.TIKTOK: "TikTok",
    Platform.YOUTUBE: "YouTube",
    Platform.X: "X",
}
# Platforms that log in with a handle and an app password rather than a consent screen.
PASSWORD_LOGIN = frozenset({Platform.BLUESKY})
BOARD_POSTS = 50


def platform_name(platform: Platform) -> str:
    return NAMES.get(platform, platform.value.capitalize())


def initials(name: str) -> str:
    words = [w for w in name.replace("_", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


@dataclass(frozen=True)
class Card:
    platform: Platform
    name: str
    state: str  # connect | active | expired | disconnected
    accounts: list[Account]
    colour: str
    password_login: bool

    @property
    def reason(self) -> str | None:
        """Why the card is expired or disconnected, from the account that made it so."""
        for account in self.accounts:
            if account.status.value == self.state and account.status_reason:
                return account.status_reason
        return None


def _state(accounts: list[Account]) -> str:
    statuses = {a.status for a in accounts}
    for status in (AccountStatus.ACTIVE, AccountStatus.EXPIRED, AccountStatus.DISCONNECTED):
        if status in statuses:
            return status.value
    return "connect"


async def cards(session: AsyncSession, caller: Caller, project_id: str) -> list[Card]:
    accounts = await accounts_of(session, caller, project_id)
    found = []
    for platform in Platform:
        own = [a for a in accounts if a.platform == platform]
        found.append(
            Card(
                platform=platform,
                name=platform_name(platform),
                state=_state(own),
                accounts=own,
                colour=COLOURS[platform],
                password_login=platform in PASSWORD_LOGIN,
            )
        )
    return found


@dataclass(frozen=True)
class BoardRow:
    target: TargetPublic
    account: str
    dot: str


@dataclass(frozen=True)
class BoardPost:
    post: Post
    rows: list[BoardRow]


def dot_of(status: TargetStatus) -> str:
    return DOTS.get(status, "pending")


async def board(
    session: AsyncSession, settings: Settings, caller: Caller, project_id: str
) -> list[BoardPost]:
    """The project's posts, newest first, each with its targets' dots."""
    posts = (
        await session.exec(
            select(Post)
            .where(
                Post.tenant_id == caller.tenant_id,
                Post.is_test == caller.is_test,
                Post.project_id == project_id,
                col(Post.deleted_at).is_(None),
            )
            .order_by(col(Post.created_at).desc())
            .limit(BOARD_POSTS)
        )
    ).all()
    if not posts:
        return []
    targets = (
        await session.exec(
            select(Target)
            .where(col(Target.post_id).in_([p.id for p in posts]))
            .order_by(col(Target.created_at))
        )
    ).all()
    names = {
        a.id: a.display_name
        for a in (
            await session.exec(
                select(Account).where(col(Account.id).in_({t.account_id for t in targets}))
            )
        ).all()
    }
    by_post: dict[str, list[BoardRow]] = {}
    for t in targets:
        by_post.setdefault(t.post_id, []).append(
            BoardRow(
                target=target_view(t, settings),
                account=names.get(t.account_id, t.account_id),
                dot=dot_of(t.status),
            )
        )
    return [BoardPost(post=p, rows=by_post.get(p.id, [])) for p in posts]
