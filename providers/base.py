"""The shape every provider shares: what it is given, what it returns, the rules it enforces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import httpx
from pydantic import BaseModel

from core.status import Platform


@dataclass(frozen=True)
class AccountCredentials:
    external_id: str  # the page, profile or channel the post goes to
    access_token: str = field(repr=False)  # never printed, never logged


class PostContent(BaseModel):
    text: str
    media_urls: list[str] = []
    link: str | None = None


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


class Provider(Protocol):
    platform: ClassVar[Platform]
    rules: ClassVar[PlatformRules]

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None: ...

    async def publish(
        self, account: AccountCredentials, content: PostContent, *, draft: bool = False
    ) -> Published: ...
