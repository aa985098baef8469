"""What the delivery workflow (workflows/publish_target.py) and its activities exchange: its
input, its updates and query, the activities' requests and answers, their names, and the
ApplicationError types they raise."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from core.status import Platform, TargetStatus


class RetrySettings(BaseModel):
    """The publish RetryPolicy's knobs, resolved from settings when the workflow starts."""

    # No longer the policy's cap (workflows/delivery.publish_retry_policy): the activities
    # count the platform's errors against CRIER_PUBLISH_MAX_ATTEMPTS. Kept so that inputs in
    # saved histories still parse.
    max_attempts: int = 5
    initial_interval: timedelta = timedelta(minutes=1)
    backoff: float = 3.0
    max_interval: timedelta = timedelta(hours=1)
    start_to_close: timedelta = timedelta(minutes=2)


class PublishTargetInput(BaseModel):
    target_id: str
    post_id: str
    tenant_id: str
    account_id: str
    platform: Platform
    scheduled_for: datetime | None = None  # None: publish at once
    retry: RetrySettings = RetrySettings()
    requires_approval: bool = False
    approval_deadline: datetime | None = None
    # A target that wakes later than this after its time is `missed`, unless publish_if_late.
    grace_period: timedelta = timedelta(minutes=10)
    publish_if_late: bool = False
    # Media to upload or encode first (Instagram containers, LinkedIn images, X media):
    # prepare, then check until ready or this deadline passes, then publish.
    prepares: bool = False
    media_deadline: timedelta = timedelta(minutes=15)
    media_poll: timedelta = timedelta(minutes=1)
    # The account's publishing budgets: a due target waits (durably) for room in them.
    budgets: list[PublishBudget] = []
    # Refresh the account's token before publishing when it is about to expire. Off for
    # targets delivered through an aggregator, which holds its own tokens.
    refreshes_token: bool = False
    # Wake this long before the time, do everything that can be done early (token, media),
    # then hand the worker a publish that waits there until the exact instant
    # (workflows/fire.py). None where preparing is publishing (TikTok): woken at the time.
    # Inputs recorded with `reconciles` (every run reconciles now) still parse: pydantic
    # ignores the unknown field.
    lead: timedelta | None = None
    # The parts after the post (thread replies, a first comment): each one's wait after the
    # one before it. Published in order once the post itself is live (workflows/parts.py).
    # Inputs recorded before parts existed parse with none.
    parts: list[timedelta] = []
    # A retry of a `partially_published` target: the post is live, so only its missing parts
    # are published.
    parts_only: bool = False


class Preparation(BaseModel):
    """What a provider's `prepare` made (containers, uploaded media): ids only, never a token,
    so it may sit in history and be handed to `check` and `publish`."""

    ids: dict[str, Any] = {}


class Readiness(BaseModel):
    state: Literal["ready", "pending", "failed"]
    reason: str | None = None  # the platform's own words when failed
    check_after: timedelta | None = None  # when to look again while pending


class PublishBudget(BaseModel):
    """A platform's known cap on publishes per account: at most `limit` in any `window`."""

    limit: int
    window: timedelta


class SlotRequest(BaseModel):
    target_id: str
    budgets: list[PublishBudget]
    # The workflow's clock: slots and windows are counted on it, so a workflow's own timers
    # and the windows agree (they are the wall clock in production; not under time skipping).
    at: datetime


class SlotDecision(BaseModel):
    wait: timedelta | None = None  # None: the slot is taken, publish now


class OnTimeRequest(BaseModel):
    """The final publish, handed to a worker ahead of its time: sent at `not_before` (None:
    at once), and not at all after `not_after` (None: however late)."""

    target_id: str
    fire_id: str  # claims the target at the time, unless an update stopped this one first
    prepared: Preparation | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    # Check the account's token (and refresh it if it is close to expiring) before waiting:
    # one activity fewer per target in a burst's lead window.
    ensure_token: bool = False


class StopFireRequest(BaseModel):
    target_id: str
    fire_id: str


class PartRequest(BaseModel):
    """Publish part `index` (1 and on) of a target whose post is live. With `look_only`, after
    its tries gave up: only ask the platform whether a try whose answer was lost landed."""

    target_id: str
    index: int
    look_only: bool = False


class TakeOverRequest(BaseModel):
    """Publish in place of a fire (PUBLISH_ON_TIME) that did not answer: it is stopped first,
    so it can never claim the target afterwards."""

    target_id: str
    fire_id: str
    prepared: Preparation | None = None
    ensure_token: bool = False  # what the fire would have done first
    # The fire may still be alive: if it claimed the target, leave the delivery to it and
    # answer `publishing` at once. Otherwise it is over: resolve whatever it sent.
    while_live: bool = False


class PublishOutcome(BaseModel):
    external_id: str | None = None
    url: str | None = None
    status: TargetStatus = TargetStatus.PUBLISHED  # or drafted, ready_for_manual


class ReconcileRequest(BaseModel):
    target_id: str
    prepared: Preparation | None = None  # what prepare made (containers), when it ran


class TargetStateUpdate(BaseModel):
    """A transition the workflow decided, for the database to record."""

    target_id: str
    status: TargetStatus
    scheduled_for: datetime | None = None
    error: str | None = None


class ReviewDecision(BaseModel):
    reviewer: str
    comment: str | None = None


class CancelRequest(BaseModel):
    reason: str | None = None  # kept as the target's last error ("the account was disconnected")


class RescheduleRequest(BaseModel):
    scheduled_for: datetime


class TargetState(BaseModel):
    """What the workflow's `status` query and its updates answer."""

    status: TargetStatus
    scheduled_for: datetime | None = None
    publish_started_at: datetime | None = None  # workflow time at which publishing began
    external_id: str | None = None
    url: str | None = None
    error: str | None = None
    # Every status the target has been in, in order: the tests assert whole sequences.
    transitions: list[TargetStatus] = []
    waiting_for_budget_until: datetime | None = None  # due, but the account's budget is spent


# Activity names: the workflow calls activities by these names, so it never imports the module
# that holds their bodies (and with it httpx and the database tables).
RESERVE_PUBLISH_SLOT = "reserve_publish_slot"
PREPARE_TARGET = "prepare_target"
CHECK_TARGET = "check_target"
PUBLISH_TARGET = "publish_target"
PUBLISH_PART = "publish_part"
PUBLISH_ON_TIME = "publish_on_time"
STOP_FIRE = "stop_fire"
TAKE_OVER_FIRE = "take_over_fire"
RECORD_TARGET_STATE = "record_target_state"
ENSURE_FRESH_TOKEN = "ensure_fresh_token"
RECONCILE_TARGET = "reconcile_target"

# ApplicationError types raised by activities; the workflow's retry policy and its verdict
# (failed or dead) are written against these.
ERROR_TRANSIENT = "TransientError"
ERROR_RATE_LIMITED = "RateLimitedError"
ERROR_CONTENT = "ContentError"
ERROR_AUTH = "AuthError"
# The platform refused to refresh the account's token: only a new login helps.
ERROR_TOKEN_REFRESH = "TokenRefreshFailed"
ERROR_MISSED = "Missed"  # taken up later than the grace period allows
ERROR_STOPPED = "Stopped"  # an update stopped the waiting publish before it could send
ERROR_WORKER_STOPPING = "WorkerStopping"  # its worker is shutting down: hand it on
TOKEN_REFRESH_FAILED = "Token refresh failed — reconnect the account"
NON_RETRYABLE_ERRORS = (ERROR_CONTENT, ERROR_AUTH, ERROR_TOKEN_REFRESH)

# ApplicationError types an update validator raises, so the API can answer 409 or 422.
REFUSED_CONFLICT = "Conflict"
REFUSED_INVALID = "Invalid"
