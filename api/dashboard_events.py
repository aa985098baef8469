"""What a dashboard's WebSocket (`/v1/events/ws`) says: each event as one JSON text frame, in
the shape seed 000 names (`social:published {socialPostId, platform, platformPostUrl}`).

A frame is `{"event", "id", "type", "eventId", "createdAt", "data"}`: `event` is the socket
name below, `id` the event's number (what `?after=` takes), `type` crier's own name for it (as
webhooks and the SSE stream say), `eventId` its `evt_…` id. `data` is the event's data with its
keys in camelCase, at every depth, and four renamed to the seed's words (FIELD_NAMES); nothing
is dropped. Besides events the socket sends `heartbeat` (`id`: where to resume) and, last,
`stream_end` (`data: {reason, message}`).
"""

from __future__ import annotations

from typing import Any

from core.models import Event

# crier's type → the socket's name. Every one follows one pattern (`by_pattern`), which also
# names a type this table does not know yet (written by a newer worker) rather than drop it.
SOCKET_NAMES: dict[str, str] = {
    "social.post_scheduled": "social:scheduled",
    "social.approval_requested": "social:approval_requested",
    "social.post_published": "social:published",
    "social.post_failed": "social:failed",
    "social.post_unconfirmed": "social:unconfirmed",
    "social.post_partially_published": "social:partially_published",
    "social.post_drafted": "social:drafted",
    "social.post_ready_for_manual": "social:ready_for_manual",
    "social.account_connected": "social:account_connected",
    "social.account_disconnected": "social:account_disconnected",
    "social.token_expired": "social:token_expired",
    "social.webhook_disabled": "social:webhook_disabled",
    "social.engagement_low": "social:engagement_low",
}
FIELD_NAMES = {
    "post_id": "socialPostId",
    "url": "platformPostUrl",
    "external_id": "platformPostId",
    "scheduled_for": "scheduledAt",
}
HEARTBEAT = "heartbeat"
STREAM_END = "stream_end"


def by_pattern(crier_type: str) -> str:
    """`social.post_X` → `social:X`; `social.X` → `social:X`."""
    namespace, _, name = crier_type.partition(".")
    return f"{namespace}:{name.removeprefix('post_')}"


def socket_name(crier_type: str) -> str:
    return SOCKET_NAMES.get(crier_type) or by_pattern(crier_type)


def camel(key: str) -> str:
    if key in FIELD_NAMES:
        return FIELD_NAMES[key]
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def event_frame(event: Event) -> dict[str, Any]:
    return {
        "event": socket_name(event.type),
        "id": event.seq,
        "type": event.type,
        "eventId": event.id,
        "createdAt": event.created_at.isoformat(),
        "data": camel_keys(event.data),
    }


def heartbeat_frame(resume_after: int) -> dict[str, Any]:
    return {"event": HEARTBEAT, "id": resume_after}


def end_frame(resume_after: int, reason: str, message: str) -> dict[str, Any]:
    return {"event": STREAM_END, "id": resume_after, "data": {"reason": reason, "message": message}}
