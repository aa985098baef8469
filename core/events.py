"""The events a tenant can hear about, recorded in the same transaction as the change.

Webhooks (activities/webhooks.py) and the live stream (`GET /v1/events`) both read the `event`
table. `data` carries ids, states, times and links, never a post's text or a token: a
receiver that wants more fetches the post with its own key. An endpoint of one project hears
only that project's events: `data` names the project (`project_id`), or a post, account or
endpoint whose project it is (activities/event_relay.py looks it up).
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Account, Event, Post, Target


class EventType(StrEnum):
    POST_SCHEDULED = "social.post_scheduled"
    APPROVAL_REQUESTED = "social.approval_requested"
    POST_PUBLISHED = "social.post_published"  # per target, with the platform's URL
    POST_FAILED = "social.post_failed"  # per target: failed, dead, missed or expired
    # Per target: the answer was lost and nobody can tell whether the post is live. Not a
    # failure: a receiver that retried on it could post twice.
    POST_UNCONFIRMED = "social.post_unconfirmed"
    # Per target: the post is live but a part after it (a reply, a first comment) is not.
    POST_PARTIALLY_PUBLISHED = "social.post_partially_published"
    # Per target asked for as a draft: saved unpublished on the platform (with its id there),
    # or, where the platform keeps no drafts, ready for a person to post by hand.
    POST_DRAFTED = "social.post_drafted"
    POST_READY_FOR_MANUAL = "social.post_ready_for_manual"
    ACCOUNT_CONNECTED = "social.account_connected"
    ACCOUNT_DISCONNECTED = "social.account_disconnected"
    TOKEN_EXPIRED = "social.token_expired"
    WEBHOOK_DISABLED = "social.webhook_disabled"
    # Per target: its engagement at 24 h is far below the account's recent median (issue 23).
    ENGAGEMENT_LOW = "social.engagement_low"


def record_event(
    session: AsyncSession,
    *,
    tenant_id: str,
    is_test: bool,
    type: EventType,
    data: dict[str, Any],
) -> Event:
    event = Event(tenant_id=tenant_id, is_test=is_test, type=type.value, data=_plain(data))
    session.add(event)
    return event


def _plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601 with their offset."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def target_data(target: Target, **extra: Any) -> dict[str, Any]:
    return {
        "post_id": target.post_id,
        "target_id": target.id,
        "account_id": target.account_id,
        "platform": target.platform,
        "status": target.status,
        **extra,
    }


def post_data(post: Post, targets: list[Target], **extra: Any) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "project_id": post.project_id,  # an endpoint of one project hears only its events
        "scheduled_for": post.scheduled_for,
        "targets": [
            {"target_id": t.id, "account_id": t.account_id, "platform": t.platform} for t in targets
        ],
        **extra,
    }


def account_data(account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "project_id": account.project_id,  # an endpoint of one project hears only its events
        "platform": account.platform,
        "display_name": account.display_name,
        "status": account.status,
        **extra,
    }


def record_account_event(
    session: AsyncSession, account: Account, type: EventType, **extra: Any
) -> Event:
    return record_event(
        session,
        tenant_id=account.tenant_id,
        is_test=account.is_sandbox,
        type=type,
        data=account_data(account, **extra),
    )


def envelope(event: Event) -> dict[str, Any]:
    """What a webhook's body and a stream message carry: `{id, type, created_at, data}`."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }


def envelope_bytes(event: Event) -> bytes:
    # Compact and key-sorted: the same bytes on every attempt, so a receiver's stored copy of
    # the first and the retry compare equal.
    return json.dumps(envelope(event), sort_keys=True, separators=(",", ":")).encode()
