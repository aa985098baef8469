"""The shape every provider shares: what it is given, what it returns, the rules it enforces.

Publishing is three calls, so the workflow can make each its own activity and wait durably
between them (STYLE.md: separate the mutation from the wait):

- `prepare` does what is not yet public: uploads media, creates containers. Its result holds
  only ids (it travels through Temporal history), never a token.
- `check` is read-only: is what `prepare` made ready (a video encoded, an image processed)?
- `publish` is the one call that makes the post public, and is made once.

A platform that needs none of this inherits `OneStepPublishing`, whose `prepare` and `check`
do nothing, and whose rules say `prepares=False` so the workflow skips them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Literal, Protocol

import httpx
from pydantic import BaseModel

from core.status import Platform


@dataclass(frozen=True)
class AccountCredentials:
    external_id: str  # the page, profile, board or channel the post goes to
    access_token: str = field(repr=False)  # never printed, never logged


class PostContent(BaseModel):
    text: str
    media_urls: list[str] = []
    link: str | None = None
    title: str | None = None  # YouTube, Pinterest, GBP events
    options: dict[str, Any] = {}  # platform-specific choices (privacy, board, CTA, ...)


class Preparation(BaseModel):
    """What `prepare` made: ids only (container, media, upload). Safe to keep in history."""

    ids: dict[str, Any] = {}


class Readiness(BaseModel):
    state: Literal["ready", "pending", "failed"]
    reason: str | None = None  # the platform's own words when failed
    check_after: timedelta | None = None  # when to look again while pending


READY = Readiness(state="ready")


class Published(BaseModel):
    external_id: str
    url: str | None = None


@dataclass(frozen=True)
class PlatformRules:
    """What the platform accepts, checked when a post is created (never truncated)."""

    max_text_length: int
    max_media: int
    requires_text_or_media: bool = True
    supports_drafts: bool = False  # the platform keeps an unpublished post for a person
    prepares: bool = False  # needs prepare/check before publish (media upload, containers)


class Provider(Protocol):
    platform: ClassVar[Platform]
    rules: ClassVar[PlatformRules]

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None: ...

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation: ...

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness: ...

    async def publish(
        self,
        account: AccountCredentials,
        content: PostContent,
        prepared: Preparation,
        *,
        draft: bool = False,
    ) -> Published: ...


class OneStepPublishing:
    """prepare and check for a platform whose publish is a single call."""

    async def prepare(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        return Preparation()

    async def check(self, account: AccountCredentials, prepared: Preparation) -> Readiness:
        return READY
