"""Is this local post the one `publish` made? Pure functions for Google Business Profile's
reconciliation (providers/google_business.py).

After a publish whose answer was lost, `find_published` lists the location's local posts for
one created since the attempt began with the summary, topic, call to action, event title and
photo count `publish` sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def created_at(post: dict[str, Any]) -> datetime:
    """A local post's createTime (RFC 3339, Z, up to 9 fractional digits, which Python reads
    to the microsecond); one without it cannot be ruled out by its age."""
    try:
        return datetime.fromisoformat(str(post["createTime"]))
    except (KeyError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def is_the_post(post: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a listed local post is the one `body` makes: the fields Google gives back as
    sent. Photos come back as Google's copies (googleUrl), so only their number counts."""
    return (
        post.get("summary", "") == body.get("summary", "")
        and post.get("topicType", "STANDARD") == body["topicType"]
        and _action(post) == _action(body)
        and (post.get("event") or {}).get("title") == (body.get("event") or {}).get("title")
        and len(post.get("media") or []) == len(body.get("media") or [])
    )


def _action(post: dict[str, Any]) -> tuple[str | None, str | None]:
    cta = post.get("callToAction") or {}
    return cta.get("actionType"), cta.get("url")
