"""SQLModel tables. The API answers with its own public schemas, never these objects."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import StrEnumType, UTCDateTime, utcnow
from core.status import (
    AccountStatus,
    ApprovalState,
    AttemptOutcome,
    Platform,
    TargetMode,
    TargetStatus,
)


def new_id() -> str:
    return str(uuid.uuid4())


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Plan(SQLModel, table=True):
    """What a tenant may do (seed 001's `Plan`). Operators manage plans (`crier plans`, the
    admin API); a refusal names the plan and the setting that would allow it (core/plans.py)."""

    id: str = Field(primary_key=True, max_length=40)  # a short name: free, publishing, agency
    name: str = Field(max_length=200)
    # Off by default on every plan, as the seed says.
    allow_social_publishing: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # None: no limit. Accounts count connected ones (both modes); posts, those created in the
    # calendar month (UTC) of one mode; platforms, which may be connected and posted to.
    max_accounts: int | None = None
    max_posts_per_month: int | None = None
    platforms: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _created()
    updated_at: datetime = _created()


# The plan a new tenant is on, created by migration 0020 with publishing off.
DEFAULT_PLAN = "free"


class Tenant(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    requires_approval: bool = False
    plan_id: str = Field(
        default=DEFAULT_PLAN,
        foreign_key="plan.id",
        max_length=40,
        sa_column_kwargs={"server_default": DEFAULT_PLAN},
    )
    # Platforms this tenant publishes through an aggregator (PostForMe, LATE) instead of direct:
    # live posts, and sandbox posts (each mode sets its own, so a sandbox key never steers live).
    aggregator_platforms: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    sandbox_aggregator_platforms: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # Whether a key may approve a post it created itself (off: a second pair of eyes).
    allow_self_approval: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # The tenant's retry policy for live and for sandbox posts (core/retry_policy.py
    # RetryPolicyChoice as JSON); None: crier's default.
    retry_policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    sandbox_retry_policy: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _created()

    def routed_platforms(self, *, sandbox: bool) -> frozenset[str]:
        """The platforms routed through aggregators for this mode's posts."""
        return frozenset(
            self.sandbox_aggregator_platforms if sandbox else self.aggregator_platforms
        )


class Project(SQLModel, table=True):
    """A client or brand inside a tenant (seed 001: connections are per project). Accounts,
    posts, webhooks and review links belong to one; keys may be limited to some. Each tenant
    has a default project per mode, which existing data moved into (migration 0020)."""

    __table_args__ = (UniqueConstraint("tenant_id", "is_test", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    is_test: bool
    name: str = Field(max_length=200)
    is_default: bool = False
    # Seed 003: Facebook targets publish only where the tenant opted in; otherwise a target
    # that does not ask for a mode is an unpublished Page post (a draft). Off for new projects;
    # migration 0022 turned it on for the projects that existed, which had always published.
    facebook_auto_publish: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    key_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the whole key
    key_prefix: str = Field(max_length=16)  # shown to humans to tell keys apart
    is_test: bool  # sk_test_ keys reach only sandbox accounts
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The projects this key may reach; empty: every project of its tenant and mode.
    project_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = _created()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    # Per project: the same brand on two projects is two accounts, connected twice (seed 001).
    __table_args__ = (
        UniqueConstraint(
            "project_id", "platform", "external_id", "is_sandbox", name="uq_account_project"
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=36)
    platform: Platform = Field(sa_type=StrEnumType(Platform))
    external_id: str = Field(max_length=200)  # page id, IG user id, person URN, ...
    display_name: str = Field(max_length=300)
    status: AccountStatus = Field(default=AccountStatus.ACTIVE, sa_type=StrEnumType(AccountStatus))
    is_sandbox: bool = False
    access_token_enc: str | None = None  # Fernet ciphertext (core.vault)
    refresh_token_enc: str | None = None
    token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why the account is expired or disconnected, in words a person can act on.
    status_reason: str | None = Field(default=None, max_length=500)
    # This account's id at each aggregator ("postforme", "late"), for routed publishing.
    aggregator_refs: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Connection(SQLModel, table=True):
    """One attempt to connect accounts: from the authorization link to the accounts it made.

    The `state` sent to the platform is stored only as a hash; the PKCE verifier and the tokens
    granted (kept until the caller chooses which Pages or boards become accounts) only encrypted.
    """

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    api_key_id: str = Field(foreign_key="api_key.id", max_length=36)
    platform: Platform = Field(sa_type=StrEnumType(Platform))
    is_sandbox: bool
    project_id: str = Field(foreign_key="project.id", max_length=36)  # where its accounts go
    state_hash: str = Field(unique=True, max_length=64)
    pkce_verifier_enc: str | None = None
    return_to: str | None = Field(default=None, max_length=2048)
    # pending → awaiting_selection → completed; or failed, or expired unused.
    status: str = Field(default="pending", max_length=32)
    error: str | None = Field(default=None, max_length=1000)
    # [{external_id, display_name}] the login granted; their tokens sit in grants_enc.
    candidates: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    grants_enc: str | None = None
    account_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = _created()
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReturnOrigin(SQLModel, table=True):
    """An origin a tenant registered, in one mode, as a place OAuth's `return_to` may send the
    person's browser after connecting: anything else would make crier an open redirect."""

    __tablename__ = "return_origin"
    __table_args__ = (UniqueConstraint("tenant_id", "is_test", "origin"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    origin: str = Field(max_length=255)  # scheme://host[:port], lower-case, no default port
    created_at: datetime = _created()


class Post(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    project_id: str = Field(foreign_key="project.id", index=True, max_length=36)
    body: str
    media_urls: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Each media's alt text, in media_urls' order (core/media_alt.py); None: none given.
    media_alt: list[str | None] | None = Field(default=None, sa_column=Column(JSON))
    link: str | None = Field(default=None, max_length=2048)
    # The parts after the post, in order: thread replies or a first comment, each
    # {"body": str, "delay_seconds": int, "media_urls": [str], "media_alt": [str|None]|None}
    # (api/schemas.py PartIn.stored; parts stored before media have no media keys). None: the
    # post alone.
    parts: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    is_test: bool = False
    created_by: str = Field(foreign_key="api_key.id", max_length=36)
    # The aggregate of the targets' states, kept current by whoever changes a target.
    status: str = Field(default="draft", max_length=32, index=True)
    requires_approval: bool | None = None  # None: the tenant's setting decides
    approval_state: ApprovalState = Field(
        default=ApprovalState.NOT_REQUIRED, sa_type=StrEnumType(ApprovalState)
    )
    approval_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_comment: str | None = Field(default=None, max_length=5000)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    publish_if_late: bool = False
    # What each media URL was when it was checked ({url: fingerprint}, core/media_fetch.py):
    # an approved post publishes only the bytes its reviewer saw.
    media_fingerprints: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Target(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("post_id", "account_id"),
        Index("ix_target_tenant_status", "tenant_id", "status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    post_id: str = Field(foreign_key="post.id", index=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=36)
    platform: Platform = Field(sa_type=StrEnumType(Platform))
    override_body: str | None = None
    # None: the post's media. A video for TikTok and YouTube, photos for the others, say.
    override_media_urls: list[str] | None = Field(default=None, sa_column=Column(JSON))
    override_media_alt: list[str | None] | None = Field(default=None, sa_column=Column(JSON))
    # Platform choices for this target: title, privacy, board section, call to action, ...
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    mode: TargetMode = Field(default=TargetMode.PUBLISH, sa_type=StrEnumType(TargetMode))
    status: TargetStatus = Field(default=TargetStatus.DRAFT, sa_type=StrEnumType(TargetStatus))
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    workflow_id: str | None = Field(default=None, max_length=100)
    external_id: str | None = Field(default=None, max_length=300)
    external_url: str | None = Field(default=None, max_length=2048)
    # Bluesky's record cid of the post: its thread replies name their root by uri and cid.
    external_cid: str | None = Field(default=None, max_length=200)
    # The live parts after the post, in order: {"index", "external_id", "url", "cid"}.
    parts_published: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who delivered it: "direct", or an aggregator and whose key ("tenant:late").
    delivered_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = None
    attempt_count: int = 0
    # The platform's errors in this delivery (a send, a lookup, a token refresh that the
    # platform failed): the one that reaches CRIER_PUBLISH_MAX_ATTEMPTS is final. Tries that
    # timed out in crier are not counted here (activities/errors.py).
    platform_errors: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A publish handed to a worker ahead of its time that an update stopped (activities/
    # fire_stops.py): it may no longer claim the target, whatever its worker still believes.
    stopped_fire_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Attempt(SQLModel, table=True):
    """One publish attempt against a platform: the ledger that later resolves ambiguity."""

    __table_args__ = (UniqueConstraint("target_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    target_id: str = Field(foreign_key="target.id", index=True, max_length=36)
    # 0: the post itself; 1 and on: the parts after it (a thread reply, a first comment).
    part: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    number: int
    outcome: AttemptOutcome = Field(
        default=AttemptOutcome.SENT, sa_type=StrEnumType(AttemptOutcome)
    )
    fingerprint: str = Field(max_length=64)
    started_at: datetime = _created()
    # The call may leave no later than this: a try that is still running past it (a slow
    # worker whose activity timed out) gives up instead of sending, and a later try waits
    # until then before it asks the platform whether the post exists.
    send_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error_kind: str | None = Field(default=None, max_length=32)  # transient, rate_limited, ...
    error_code: str | None = Field(default=None, max_length=64)  # the platform's own code
    error: str | None = None
    response_summary: str | None = Field(default=None, max_length=2048)


class Notification(SQLModel, table=True):
    """Something a person at the tenant should hear about (a dead target, an expired token):
    the inbox `GET /v1/notifications` reads. Machines hear the same through events."""

    # The inbox's query: one tenant's rows in one mode, newest first.
    __table_args__ = (Index("ix_notification_inbox", "tenant_id", "is_test", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    # From the sandbox account, post or endpoint it is about: only keys of that mode see it.
    # No default, so a new writer cannot forget to say which.
    is_test: bool
    kind: str = Field(max_length=64)
    post_id: str | None = Field(default=None, foreign_key="post.id", max_length=36)
    target_id: str | None = Field(default=None, foreign_key="target.id", max_length=36)
    message: str
    created_at: datetime = _created()
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a create with an Idempotency-Key, replayed for the same request."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()


class PublishSlot(SQLModel, table=True):
    """One publish counted against its account's budget (rolling windows are counted here)."""

    __tablename__ = "publish_slot"
    __table_args__ = (Index("ix_publish_slot_account_time", "account_id", "reserved_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="account.id", max_length=36)
    target_id: str = Field(foreign_key="target.id", unique=True, max_length=36)
    reserved_at: datetime = _created()


class AggregatorKey(SQLModel, table=True):
    """A tenant's own key at an aggregator, encrypted like a platform token."""

    __tablename__ = "aggregator_key"
    __table_args__ = (UniqueConstraint("tenant_id", "is_test", "aggregator"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    # Set by a sandbox key: used for sandbox accounts only (and a live key's for live ones).
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    aggregator: str = Field(max_length=32)  # postforme | late
    api_key_enc: str
    created_at: datetime = _created()


class DeploymentAggregatorRef(SQLModel, table=True):
    """An account's id at an aggregator, for the deployment's own key there: assigned by the
    operator (`crier aggregator-refs assign`), never by the tenant, so a tenant cannot send its
    posts through the deployment's key to an aggregator account that is not its own."""

    __tablename__ = "deployment_aggregator_ref"
    __table_args__ = (UniqueConstraint("account_id", "aggregator"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    account_id: str = Field(foreign_key="account.id", max_length=36)
    aggregator: str = Field(max_length=32)  # postforme | late
    ref: str = Field(max_length=200)
    created_at: datetime = _created()


class Event(SQLModel, table=True):
    """Something that happened to a tenant's posts or accounts (core/events.py).

    Written in the same transaction as the change it reports, so webhooks and the live stream
    (which both read this table, an outbox) never announce a change that did not commit, nor
    miss one that did. `seq` orders a tenant's events for `Last-Event-ID`.
    """

    __table_args__ = (
        Index("ix_event_stream", "tenant_id", "is_test", "seq"),
        Index("ix_event_undispatched", "dispatched_at"),
    )

    # BIGINT on PostgreSQL; on SQLite only a plain INTEGER primary key autoincrements.
    seq: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer(), "sqlite")
    )
    id: str = Field(default_factory=lambda: f"evt_{uuid.uuid4().hex}", unique=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool  # from sandbox accounts and posts: only sandbox keys and endpoints see it
    type: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()
    # When the relay made this event's webhook deliveries (None: not yet).
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=36)
    is_test: bool
    # None: every project's events; otherwise only those of this project's posts and accounts.
    project_id: str | None = Field(default=None, foreign_key="project.id", max_length=36)
    url: str = Field(max_length=2048)
    description: str | None = Field(default=None, max_length=300)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_enc: str  # the signing secret, encrypted like a token (core.vault)
    # The secret the last roll replaced: deliveries are signed with it too until it expires,
    # so receivers can switch to the new one at their own pace (roll-secret).
    previous_secret_enc: str | None = None
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    # Deliveries that failed every retry, in a row; a success resets it.
    consecutive_failures: int = 0
    created_by: str = Field(foreign_key="api_key.id", max_length=36)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event sent to one endpoint, by its own workflow, over as many attempts as it takes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", max_length=36)
    event_id: str = Field(foreign_key="event.id", max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    # pending → delivered; or failed (every retry), or abandoned (the endpoint went away).
    status: str = Field(default="pending", max_length=16)
    attempt_count: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    workflow_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = _created()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    delivery_id: str = Field(foreign_key="webhook_delivery.id", index=True, max_length=36)
    number: int
    started_at: datetime = _created()
    duration_ms: int = 0
    status_code: int | None = None  # None: no answer (refused, timed out, blocked)
    error: str | None = Field(default=None, max_length=1000)


class ReviewLink(SQLModel, table=True):
    """A link that signs one reviewer in to the pages: for one post, or (asked for as such)
    the tenant's review queue in one mode. Only the token's hash is kept, so the database
    cannot hand out working links; it can be listed and revoked."""

    __tablename__ = "review_link"
    __table_args__ = (Index("ix_review_link_listing", "tenant_id", "is_test", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    api_key_id: str = Field(foreign_key="api_key.id", max_length=36)  # revoking it ends the link
    reviewer: str = Field(max_length=100)
    post_id: str | None = Field(default=None, foreign_key="post.id", max_length=36)  # None: queue
    # The project whose post or queue it opens: a queue link never shows another project's.
    project_id: str = Field(foreign_key="project.id", max_length=36)
    token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the token
    single_use: bool = False
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # first opened
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


class PageSession(SQLModel, table=True):
    """A signed-in browser on the pages. The cookie holds only a random id whose hash is here,
    so signing out (or revoking the link or key) ends the session for every copy of it."""

    __tablename__ = "page_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the cookie's id
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    api_key_id: str = Field(foreign_key="api_key.id", max_length=36)
    review_link_id: str | None = Field(
        default=None, foreign_key="review_link.id", index=True, max_length=36
    )
    post_id: str | None = Field(default=None, foreign_key="post.id", max_length=36)  # the only one
    name: str = Field(max_length=300)  # how decisions made in it are recorded
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    csrf: str = Field(max_length=64)  # the forms' token, rendered into every page of the session
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # signed out or revoked
    created_at: datetime = _created()


class EventTicket(SQLModel, table=True):
    """A short-lived, single-use pass to the live events for a browser, which cannot send the
    API key (api/event_tickets.py). Only the ticket's hash is kept, so the database cannot open
    a stream; it is bound to the key that asked for it, whose revocation makes it worthless."""

    __tablename__ = "event_ticket"
    # Asking for a ticket clears the same key's expired ones: the table holds about one
    # minute's tickets per key.
    __table_args__ = (Index("ix_event_ticket_key_expiry", "api_key_id", "expires_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(unique=True, max_length=64)  # sha256 hex of the ticket
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    api_key_id: str = Field(foreign_key="api_key.id", max_length=36)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # redeemed: never again
    created_at: datetime = _created()


class PostMetric(SQLModel, table=True):
    """One reading of a live post's metrics (core/metrics_schedule.py says when): a time series
    per target, never overwritten. Metrics a platform does not give are absent from `values`."""

    __tablename__ = "post_metric"
    __table_args__ = (
        # One reading per target per offset: the collector's retry finds it already taken.
        UniqueConstraint("target_id", "offset_label"),
        Index("ix_post_metric_account_time", "account_id", "collected_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    project_id: str = Field(foreign_key="project.id", max_length=36)
    post_id: str = Field(foreign_key="post.id", index=True, max_length=36)
    target_id: str = Field(foreign_key="target.id", max_length=36)
    account_id: str = Field(foreign_key="account.id", max_length=36)
    platform: Platform = Field(sa_type=StrEnumType(Platform))
    offset_label: str = Field(max_length=16)  # "1h", "24h", "7d": time after publishing
    values: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    calls: int = 1  # platform calls the reading cost, counted against the platform's budget
    collected_at: datetime = _created()


class AccountInsight(SQLModel, table=True):
    """An account's insights for one day (UTC), as the platform reported them: followers,
    reach, impressions, ... Read daily; a day read again replaces its values."""

    __tablename__ = "account_insight"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=36)
    is_test: bool
    project_id: str = Field(foreign_key="project.id", max_length=36)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=36)
    platform: Platform = Field(sa_type=StrEnumType(Platform))
    day: date = Field(sa_type=Date)
    values: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    calls: int = 1
    collected_at: datetime = _created()
