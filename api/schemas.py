"""Request and response bodies. Responses are built field by field from the tables, so a new
column (a token, say) can never leak by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field

from core.status import AccountStatus, Platform, TargetStatus

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T


class ListMeta(BaseModel):
    count: int


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetCreate(Strict):
    account_id: str = Field(min_length=1, max_length=36)
    override_body: str | None = Field(default=None, max_length=100_000)


class PostCreate(Strict):
    body: str = Field(default="", max_length=100_000)
    media_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=20)
    link: AnyHttpUrl | None = None
    targets: list[TargetCreate] = Field(min_length=1, max_length=50)


class PublishRequest(Strict):
    # AwareDatetime refuses a time without an offset: "09:00" means nothing without a zone.
    scheduled_for: AwareDatetime | None = None


class TargetPublic(BaseModel):
    id: str
    post_id: str
    account_id: str
    platform: Platform
    status: TargetStatus
    scheduled_for: datetime | None
    published_at: datetime | None
    external_id: str | None
    url: str | None
    last_error: str | None
    attempts: int
    workflow_id: str | None
    temporal_url: str | None


class PostPublic(BaseModel):
    id: str
    status: str
    body: str
    media_urls: list[str]
    link: str | None
    is_test: bool
    scheduled_for: datetime | None
    created_at: datetime
    updated_at: datetime
    targets: list[TargetPublic]


class AccountPublic(BaseModel):
    id: str
    platform: Platform
    external_id: str
    display_name: str
    status: AccountStatus
    is_sandbox: bool
    token_expires_at: datetime | None
