"""The states a target moves through (DESIGN.md, "The delivery workflow")."""

from __future__ import annotations

from enum import StrEnum


class TargetStatus(StrEnum):
    DRAFT = "draft"  # created, not yet sent to publish
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"  # permanent error: the platform refused the content or the token
    DEAD = "dead"  # transient errors outlasted every retry
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    MISSED = "missed"
    UNCONFIRMED = "unconfirmed"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        TargetStatus.PUBLISHED,
        TargetStatus.FAILED,
        TargetStatus.DEAD,
        TargetStatus.CANCELLED,
        TargetStatus.REJECTED,
        TargetStatus.EXPIRED,
        TargetStatus.MISSED,
        TargetStatus.UNCONFIRMED,
    }
)


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


class AccountStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    DISCONNECTED = "disconnected"
