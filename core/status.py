"""The states a target moves through (DESIGN.md, "The delivery workflow")."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TargetStatus(StrEnum):
    DRAFT = "draft"  # created, not yet sent to publish
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    DRAFTED = "drafted"  # saved as a draft on the platform (e.g. an unpublished Page post)
    READY_FOR_MANUAL = "ready_for_manual"  # no drafts API: a person posts the final text
    FAILED = "failed"  # permanent error: the platform refused the content or the token
    DEAD = "dead"  # transient errors outlasted every retry
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    MISSED = "missed"
    UNCONFIRMED = "unconfirmed"
    # The post is live but a part after it (a thread reply, a first comment) could not be
    # published: the live parts stay, and a retry continues from the first missing one.
    PARTIALLY_PUBLISHED = "partially_published"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        TargetStatus.PUBLISHED,
        TargetStatus.DRAFTED,
        TargetStatus.READY_FOR_MANUAL,
        TargetStatus.FAILED,
        TargetStatus.DEAD,
        TargetStatus.CANCELLED,
        TargetStatus.REJECTED,
        TargetStatus.EXPIRED,
        TargetStatus.MISSED,
        TargetStatus.UNCONFIRMED,
        TargetStatus.PARTIALLY_PUBLISHED,
    }
)


# Not yet publishing: what cancel and reschedule may still change, and what disconnecting an
# account cancels.
WAITING = (TargetStatus.AWAITING_APPROVAL, TargetStatus.SCHEDULED)

# The states a person may send back to publishing with POST /v1/targets/{id}/retry.
# `unconfirmed` too: the person has looked at the account and found no post.
RETRYABLE_STATUSES = frozenset(
    {
        TargetStatus.FAILED,
        TargetStatus.DEAD,
        TargetStatus.MISSED,
        TargetStatus.EXPIRED,
        TargetStatus.UNCONFIRMED,
        TargetStatus.PARTIALLY_PUBLISHED,  # continues from its first missing part
    }
)
# Before the platform is called: a post may still be edited, rescheduled or cancelled.
PENDING_STATUSES = frozenset(
    {TargetStatus.DRAFT, TargetStatus.AWAITING_APPROVAL, TargetStatus.SCHEDULED}
)


# Ends a person at the tenant should hear about (a Notification in their inbox): each waits on
# someone, to fix and retry, to look at the account, or to post the text by hand.
NOTIFY_STATUSES = frozenset(
    {
        TargetStatus.FAILED,
        TargetStatus.DEAD,
        TargetStatus.MISSED,
        TargetStatus.EXPIRED,
        TargetStatus.UNCONFIRMED,
        TargetStatus.PARTIALLY_PUBLISHED,
        TargetStatus.READY_FOR_MANUAL,
    }
)


# Ends where nothing was published and nothing will be without a person: the tenant hears
# `post.failed`, and the metrics count them as not published.
FAILED_ENDS = frozenset(
    {TargetStatus.FAILED, TargetStatus.DEAD, TargetStatus.MISSED, TargetStatus.EXPIRED}
)


def aggregate_status(statuses: Iterable[str]) -> str:
    """One word for a post whose targets may be in different states."""
    distinct = set(statuses)
    if not distinct:
        return TargetStatus.DRAFT.value
    if len(distinct) == 1:
        return str(next(iter(distinct)))
    if TargetStatus.PUBLISHING in distinct:
        return TargetStatus.PUBLISHING.value
    if TargetStatus.AWAITING_APPROVAL in distinct:
        return TargetStatus.AWAITING_APPROVAL.value
    if TargetStatus.SCHEDULED in distinct:
        return TargetStatus.SCHEDULED.value
    if distinct & {
        TargetStatus.PUBLISHED,
        TargetStatus.DRAFTED,
        TargetStatus.PARTIALLY_PUBLISHED,
    }:
        return "partially_published"
    return "mixed"


class AttemptOutcome(StrEnum):
    """One platform call that can make a post public (activities/ledger.py)."""

    SENT = "sent"  # written before the call; still so if the worker died during it
    CONFIRMED = "confirmed"  # the platform answered with the post
    FAILED = "failed"  # the platform refused, or the request never left
    UNKNOWN = "unknown"  # the answer was lost: the post may or may not exist
    FOUND = "found"  # a later lookup found the post live: recorded, not posted again
    NOT_FOUND = "not_found"  # a later lookup showed it never landed
    ABANDONED = "abandoned"  # a person looked, found nothing, and retried


# Nobody knows yet whether the post went out: the next try looks before it posts again.
UNRESOLVED_OUTCOMES = frozenset({AttemptOutcome.SENT, AttemptOutcome.UNKNOWN})
# A lookup or the platform's own answer settled the attempt: a late report of the call that
# failed must not unsettle it.
SETTLED_OUTCOMES = frozenset(
    {AttemptOutcome.FOUND, AttemptOutcome.NOT_FOUND, AttemptOutcome.CONFIRMED}
)


class TargetMode(StrEnum):
    PUBLISH = "publish"
    DRAFT = "draft"  # a platform draft where the platform has one, else ready_for_manual


class ApprovalState(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Platform(StrEnum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    X = "x"
    GOOGLE_BUSINESS = "google_business"
    THREADS = "threads"
    BLUESKY = "bluesky"
    PINTEREST = "pinterest"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"

    @classmethod
    def _missing_(cls, value: object) -> Platform | None:
        # Seed 002 and the aggregators' own APIs still call X "twitter" (issue 21 item 5): a
        # caller may send it wherever a platform comes in (pydantic's enum parsing asks here
        # too), and crier answers with "x", the one name it stores and returns.
        if value == "twitter":
            return cls.X
        return None


class AccountStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    DISCONNECTED = "disconnected"
