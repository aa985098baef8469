"""Request and response bodies. Responses are built field by field from the tables, so a new
column (a token, say) can never leak by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    UrlConstraints,
    field_validator,
)

from api.target_options import MAX_KEYS, MAX_SERIALIZED_BYTES, options_problems
from core.status import (
    AccountStatus,
    ApprovalState,
    AttemptOutcome,
    Platform,
    TargetMode,
    TargetStatus,
)

T = TypeVar("T")

# A media URL is fetched and kept on the post: bounded like a browser's address bar.
MediaUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class Envelope(BaseModel, Generic[T]):
    data: T


class ListMeta(BaseModel):
    count: int
    total: int | None = None
    limit: int | None = None
    offset: int | None = None


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetCreate(Strict):
    account_id: str = Field(min_length=1, max_length=36)
    override_body: str | None = Field(default=None, max_length=100_000)
    override_media_urls: list[MediaUrl] | None = Field(
        default=None,
        max_length=20,
        description="This target's media instead of the post's: a video for TikTok, say.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Platform choices: `title` (YouTube, Pinterest, TikTok), `privacy` "
        "(YouTube), `privacy_level` (TikTok), `topic_type`, `call_to_action`, `event`, "
        "`offer` (Google Business Profile), `alt_text`, `rkey` (Bluesky), ... At most "
        f"{MAX_KEYS} keys and {MAX_SERIALIZED_BYTES} bytes as JSON; the keys a platform reads "
        "must have its type.",
    )
    mode: TargetMode = Field(
        default=TargetMode.PUBLISH,
        description="`draft` saves a platform draft (an unpublished Page post); where the "
        "platform has no drafts, the target ends `ready_for_manual` with its final text.",
    )

    @field_validator("options")
    @classmethod
    def _bounded_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        if problems := options_problems(options):
            # One message naming every problem: a validator reports one error per field.
            raise ValueError("; ".join(problems))
        return options


class PostCreate(Strict):
    body: str = Field(default="", max_length=100_000)
    media_urls: list[MediaUrl] = Field(default_factory=list, max_length=20)
    link: AnyHttpUrl | None = None
    targets: list[TargetCreate] = Field(min_length=1, max_length=50)
    requires_approval: bool | None = Field(
        default=None,
        description="true asks for approval for this post; false is refused when the tenant "
        "requires approval (its setting is a floor).",
    )
    # AwareDatetime refuses a time without an offset: "09:00" means nothing without a zone.
    approval_deadline: AwareDatetime | None = Field(
        default=None, description="Targets still unapproved then end `expired`."
    )


class PostUpdate(Strict):
    """Only while every target is draft, awaiting approval or scheduled."""

    expected_updated_at: AwareDatetime = Field(
        description="The post's `updated_at` as you last read it; a stale value is refused (409)."
    )
    body: str | None = Field(default=None, max_length=100_000)
    media_urls: list[MediaUrl] | None = Field(default=None, max_length=20)
    link: AnyHttpUrl | None = None
    approval_deadline: AwareDatetime | None = None


class PublishRequest(Strict):
    scheduled_for: AwareDatetime | None = None
    publish_if_late: bool = Field(
        default=False,
        description="Publish even if the target wakes later than the grace period after its "
        "time (after an outage, say); by default such a target ends `missed`.",
    )


class RescheduleBody(Strict):
    scheduled_for: AwareDatetime


class ReviewBody(Strict):
    expected_updated_at: AwareDatetime = Field(
        description="The post's `updated_at` the reviewer judged: a post changed since is 409."
    )
    comment: str | None = Field(default=None, max_length=5000)


class TargetPublic(BaseModel):
    id: str
    post_id: str
    account_id: str
    platform: Platform
    mode: TargetMode
    override_body: str | None
    override_media_urls: list[str] | None
    options: dict[str, Any]
    status: TargetStatus
    scheduled_for: datetime | None
    published_at: datetime | None
    external_id: str | None
    url: str | None
    delivered_by: str | None
    last_error: str | None
    attempts: int
    workflow_id: str | None
    temporal_url: str | None


class ApprovalPublic(BaseModel):
    required: bool
    state: ApprovalState
    deadline: datetime | None
    reviewed_by: str | None
    comment: str | None
    reviewed_at: datetime | None


class PostPublic(BaseModel):
    id: str
    status: str
    body: str
    media_urls: list[str]
    link: str | None
    is_test: bool
    scheduled_for: datetime | None
    approval: ApprovalPublic
    created_at: datetime
    updated_at: datetime
    targets: list[TargetPublic]


class AttemptPublic(BaseModel):
    number: int
    outcome: AttemptOutcome
    started_at: datetime
    finished_at: datetime | None
    error_class: str | None
    platform_code: str | None
    message: str | None


class AccountPublic(BaseModel):
    id: str
    platform: Platform
    external_id: str
    display_name: str
    status: AccountStatus
    is_sandbox: bool
    token_expires_at: datetime | None
    status_reason: str | None = None  # why it is expired or disconnected


class ConnectBody(Strict):
    """OAuth platforms take only `return_to`; Bluesky takes the handle and an app password."""

    return_to: AnyHttpUrl | None = Field(
        default=None,
        description="where the person's browser goes after the platform's consent screen; "
        "it gets ?connection_id=…&status=…. Its origin must be registered first "
        "(POST /v1/oauth/return-origins)",
    )
    identifier: str | None = Field(default=None, max_length=300)
    app_password: SecretStr | None = Field(default=None, max_length=300)


class ReturnOriginCreate(Strict):
    origin: str = Field(
        min_length=1,
        max_length=255,
        description="scheme://host[:port], e.g. https://app.example.com (https outside "
        "development); no path, query or fragment",
    )


class ReturnOriginPublic(BaseModel):
    id: str
    origin: str  # normalised: lower-case, no default port
    created_at: datetime


class CandidatePublic(BaseModel):
    external_id: str
    display_name: str


class ConnectionPublic(BaseModel):
    id: str
    platform: Platform
    status: str  # pending, awaiting_selection, completed, failed, expired
    error: str | None
    authorization_url: str | None = None  # only in the answer that starts an OAuth connect
    candidates: list[CandidatePublic]
    accounts: list[AccountPublic]
    expires_at: datetime | None
    created_at: datetime


class ChooseAccounts(Strict):
    external_ids: list[str] = Field(min_length=1, max_length=500)


class AccountDisconnected(BaseModel):
    account: AccountPublic
    revoked: bool  # the platform revoked the token (False: it has no way to, or failed)
    cancelled_targets: int
    refused_targets: list[str]  # targets already publishing, left to finish or fail
