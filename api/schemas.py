"""Request and response bodies. Responses are built field by field from the tables, so a new
column (a token, say) can never leak by accident."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    UrlConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from api.errors import ErrorDetail
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
# Alt text is stored and sent as given: bounded here for storage; each platform's own limit is
# checked per target when the post is created or edited (MediaRules.max_alt_chars).
MAX_ALT_CHARS = 2000


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


class MediaObject(Strict):
    """One media with its alt text, the form `media` and `override_media` take."""

    url: MediaUrl
    alt: str | None = Field(
        default=None,
        max_length=MAX_ALT_CHARS,
        description="Alt text, sent where the platform takes it (docs/platforms.md); a "
        "platform with a shorter limit (X 1,000, Pinterest 500) refuses the target by name.",
    )


def _alts(objects: list[MediaObject] | None) -> list[str | None] | None:
    return None if objects is None else [item.alt for item in objects]


# Each object form of media (URLs with their alt text) and the plain form it stands for.
_PLAIN_FORM = {"media": "media_urls", "override_media": "override_media_urls"}


class MediaForms(Strict):
    """A body that takes media in two forms, plain URLs or objects with alt text: one or the
    other. Everything downstream reads the plain form; the alt texts ride beside it."""

    @field_validator("media", "override_media", check_fields=False)
    @classmethod
    def _one_media_form(
        cls, objects: list[MediaObject] | None, info: ValidationInfo
    ) -> list[MediaObject] | None:
        """Refuses the object form beside the plain one (a field error, so it is named with
        every other problem of the request's shape)."""
        plain = _PLAIN_FORM[str(info.field_name)]
        if objects is not None and info.data.get(plain):
            raise ValueError(f"give {info.field_name} or {plain}, not both")
        return objects

    @model_validator(mode="after")
    def _plain_urls(self) -> Self:
        for form, plain in _PLAIN_FORM.items():
            objects: list[MediaObject] | None = getattr(self, form, None)
            if objects is not None:
                # Marks the plain form as given too: an edit replaces the media.
                setattr(self, plain, [item.url for item in objects])
        return self


class TargetCreate(MediaForms):
    account_id: str = Field(min_length=1, max_length=36)
    override_body: str | None = Field(default=None, max_length=100_000)
    override_media_urls: list[MediaUrl] | None = Field(
        default=None,
        max_length=20,
        description="This target's media instead of the post's: a video for TikTok, say.",
    )
    override_media: list[MediaObject] | None = Field(
        default=None,
        max_length=20,
        description="The same as override_media_urls, each with its alt text; give one or "
        "the other.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The platform's choices, as `GET /v1/platforms` lists them for each "
        "platform (a JSON Schema): `privacy_level` (TikTok), `title` and `privacy` (YouTube), "
        "`topic_type`, `event`, `offer` (Google Business Profile), ... A key the account's "
        f"platform does not take is refused, naming those it does. At most {MAX_KEYS} keys "
        f"and {MAX_SERIALIZED_BYTES} bytes as JSON.",
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

    def override_alt(self) -> list[str | None] | None:
        """The alt text of each override media; None when override_media was not used."""
        return _alts(self.override_media)


class MediaPublic(BaseModel):
    url: str
    alt: str | None


class PartIn(MediaForms):
    """A part after the post: a thread reply (X, Bluesky, Threads) or a first comment (Facebook,
    Instagram, LinkedIn, YouTube), published once the part before it is live."""

    body: str = Field(min_length=1, max_length=100_000)
    delay_seconds: int = Field(
        default=0, ge=0, le=86_400, description="wait this long after the part before it"
    )
    media_urls: list[MediaUrl] = Field(
        default_factory=list,
        max_length=4,
        description="Images on a thread reply (X, Bluesky, Threads); comments take none.",
    )
    media: list[MediaObject] | None = Field(
        default=None,
        max_length=4,
        description="The same as media_urls, each with its alt text; give one or the other.",
    )

    def media_alt(self) -> list[str | None] | None:
        """The alt text of each media; None when `media` was not used."""
        return _alts(self.media)

    def stored(self) -> dict[str, Any]:
        """The part as Post.parts keeps it (core/models.py): the plain media, alt beside."""
        return {
            "body": self.body,
            "delay_seconds": self.delay_seconds,
            "media_urls": [str(u) for u in self.media_urls],
            "media_alt": self.media_alt(),
        }


class PartAsked(BaseModel):
    """A part after the post as it was asked for."""

    body: str
    delay_seconds: int
    media_urls: list[str]
    media: list[MediaPublic]  # the same media, each with its alt text


class PartPublic(BaseModel):
    index: int  # 1 for the first part after the post
    external_id: str
    url: str | None


class PostCreate(MediaForms):
    body: str = Field(default="", max_length=100_000)
    media_urls: list[MediaUrl] = Field(default_factory=list, max_length=20)
    media: list[MediaObject] | None = Field(
        default=None,
        max_length=20,
        description="The same as media_urls, each with its alt text; give one or the other.",
    )
    link: AnyHttpUrl | None = None
    parts: list[PartIn] = Field(
        default_factory=list,
        max_length=25,
        description="Thread replies or a first comment after the post, in order.",
    )
    targets: list[TargetCreate] = Field(min_length=1, max_length=50)
    project_id: str | None = Field(
        default=None,
        max_length=36,
        description="The project the post belongs to; its targets' accounts must be in it. "
        "Without it: the accounts' project (they must share one).",
    )
    requires_approval: bool | None = Field(
        default=None,
        description="true asks for approval for this post; false is refused when the tenant "
        "requires approval (its setting is a floor).",
    )
    # AwareDatetime refuses a time without an offset: "09:00" means nothing without a zone.
    approval_deadline: AwareDatetime | None = Field(
        default=None, description="Targets still unapproved then end `expired`."
    )

    def media_alt(self) -> list[str | None] | None:
        """The alt text of each media; None when `media` was not used."""
        return _alts(self.media)


class TargetEdit(MediaForms):
    """An edit of one of the post's targets, named by its account: only the fields given
    change (null for override_body or override_media_urls goes back to the post's)."""

    account_id: str = Field(min_length=1, max_length=36)
    override_body: str | None = Field(default=None, max_length=100_000)
    override_media_urls: list[MediaUrl] | None = Field(default=None, max_length=20)
    override_media: list[MediaObject] | None = Field(default=None, max_length=20)

    def override_alt(self) -> list[str | None] | None:
        return _alts(self.override_media)


class PostUpdate(MediaForms):
    """Only while every target is draft, awaiting approval or scheduled."""

    expected_updated_at: AwareDatetime = Field(
        description="The post's `updated_at` as you last read it; a stale value is refused (409)."
    )
    body: str | None = Field(default=None, max_length=100_000)
    media_urls: list[MediaUrl] | None = Field(default=None, max_length=20)
    media: list[MediaObject] | None = Field(
        default=None,
        max_length=20,
        description="Replaces the media with these, each with its alt text; media_urls "
        "replaces them without alt text. Give one or the other.",
    )
    link: AnyHttpUrl | None = None
    approval_deadline: AwareDatetime | None = None
    parts: list[PartIn] | None = Field(
        default=None,
        max_length=25,
        description="Replaces the parts after the post ([] removes them); only while every "
        "target is a draft not yet published or scheduled.",
    )
    targets: list[TargetEdit] | None = Field(
        default=None,
        max_length=50,
        description="Edits of the post's own targets, each named by its account_id.",
    )

    def media_alt(self) -> list[str | None] | None:
        """The alt text of each media; None when `media` was not used."""
        return _alts(self.media)


class PublishRequest(Strict):
    scheduled_for: AwareDatetime | None = None
    publish_if_late: bool = Field(
        default=False,
        description="Publish even if the target wakes later than the grace period after its "
        "time (after an outage, say); by default such a target ends `missed`.",
    )
    if_late: Literal["refuse", "missed"] = Field(
        default="refuse",
        description="A scheduled_for already past by more than the grace period "
        "(CRIER_MISSED_GRACE_PERIOD, 10 min): `refuse` answers 422, `missed` records the "
        "targets `missed`. Within the grace period a past time publishes at once.",
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
    override_media: list[MediaPublic] | None  # the same media, each with its alt text
    options: dict[str, Any]
    status: TargetStatus
    scheduled_for: datetime | None
    published_at: datetime | None
    external_id: str | None
    url: str | None
    delivered_by: str | None
    last_error: str | None
    parts: list[PartPublic]  # the live parts after the post
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
    media: list[MediaPublic]  # the same media, each with its alt text
    link: str | None
    parts: list[PartAsked]  # the parts after the post, as asked for
    is_test: bool
    project_id: str
    scheduled_for: datetime | None
    approval: ApprovalPublic
    created_at: datetime
    updated_at: datetime
    targets: list[TargetPublic]


class AttemptPublic(BaseModel):
    number: int
    part: int  # 0: the post itself; 1 and on: the parts after it
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
    project_id: str
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
    project_id: str | None = Field(
        default=None,
        max_length=36,
        description="The project the accounts join (connections are per project: the same "
        "brand on two projects connects twice). Without it: the key's one project, or the "
        "default project.",
    )


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


class TextLength(BaseModel):
    count: int = Field(description="The text's length as the platform counts it (`unit`).")
    max: int
    unit: str


class PartPreview(BaseModel):
    """A part after the post as its platform would receive it."""

    index: int  # 1 for the first part after the post
    kind: str  # "reply" (a thread's next post) or "comment" (a first comment)
    text: str
    length: TextLength
    media_urls: list[str] = Field(default_factory=list)


class TargetPreview(BaseModel):
    """One target as its platform would receive it."""

    platform: Platform
    mode: TargetMode
    text: str = Field(
        description="The text as sent: LinkedIn's little text (escaped, mentions as elements), "
        "Threads' link when there is no text and no media, else the target's text as written."
    )
    length: TextLength
    media_urls: list[str]
    max_media: int
    link: str | None
    title: str | None
    options: dict[str, Any]
    parts: list[PartPreview] = Field(
        default_factory=list, description="The thread replies or first comment, in order."
    )


class TargetCheck(BaseModel):
    account_id: str
    platform: Platform | None = Field(description="None when no account may be posted to.")
    problems: list[ErrorDetail] = Field(description="Every problem create would name for it.")
    preview: TargetPreview | None


class PostCheck(BaseModel):
    valid: bool = Field(description="No problem anywhere: create would accept this body.")
    problems: list[ErrorDetail] = Field(
        description="The post's own problems (too many distinct media, the approval floor)."
    )
    targets: list[TargetCheck]


class PostTypePublic(BaseModel):
    name: str
    made_by: str = Field(description="What makes a post this kind.")


class TextRulesPublic(BaseModel):
    max_length: int
    unit: str = Field(description="How the platform counts: characters, graphemes, ...")
    required: bool = Field(description="A post needs text, media or a link.")


class MediaRulesPublic(BaseModel):
    max_count: int
    required: bool = Field(description="No text-only posts.")
    checks: dict[str, Any] = Field(
        description="What each file must be, checked on the fetched bytes (formats, bytes, "
        "width, aspect ratio, whether images and video are allowed); null: no limit stated."
    )


class PlatformPublic(BaseModel):
    platform: Platform
    options: dict[str, Any] = Field(description="A JSON Schema of the target's `options`.")
    text: TextRulesPublic
    media: MediaRulesPublic
    post_types: list[PostTypePublic]
    drafts: bool = Field(description="The platform keeps an unpublished draft (mode draft).")


class NotificationPublic(BaseModel):
    id: str
    kind: str = Field(description="What happened: `target_dead`, `token_expired`, ...")
    message: str
    post_id: str | None
    target_id: str | None
    created_at: datetime
    read_at: datetime | None = Field(description="When it was first marked read; null: unread.")


# As many as a page of the inbox lists.
MAX_MARKED_IDS = 100


class NotificationsRead(Strict):
    """Which notifications to mark read: `ids`, or `all` of the caller's inbox."""

    ids: list[Annotated[str, Field(max_length=36)]] | None = Field(
        default=None, min_length=1, max_length=MAX_MARKED_IDS
    )
    all: bool = Field(default=False, description="Every unread one of the key's tenant and mode.")

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.ids is not None) == self.all:
            raise ValueError('give either "ids" or "all": true, not both nor neither')
        return self


class NotificationsMarked(BaseModel):
    marked: int = Field(description="How many were unread until now (the rest already were).")
