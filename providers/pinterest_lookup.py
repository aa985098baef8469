"""The pin `publish` makes, as pure functions: its title, and whether a listed pin is it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from providers.base import PostContent

MAX_TITLE = 100
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")


def is_video(url: str) -> bool:
    return url.lower().split("?", 1)[0].endswith(VIDEO_SUFFIXES)


def pin_title(content: PostContent) -> str:
    """The title the person gave, else the text's first line cut to fit.

    A given title is sent whole, so Pinterest refuses one too long rather than crier cutting
    words a person chose; the first line is only a stand-in, and the text travels whole as
    the description anyway.
    """
    if content.title is not None:
        return content.title
    return content.text.strip().split("\n", 1)[0][:MAX_TITLE]


def pin_created(pin: dict[str, Any]) -> datetime | None:
    """A pin's `created_at`: ISO 8601 in UTC, sent without an offset."""
    try:
        created = datetime.fromisoformat(str(pin.get("created_at")))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def created_before(pin: dict[str, Any], since: datetime) -> bool:
    created = pin_created(pin)
    return created is not None and created < since


def pin_matches(pin: dict[str, Any], content: PostContent, since: datetime) -> bool:
    """Is this the pin `publish` makes for `content`: made since the attempt began, with the
    same title, description and kind of media? The link is not compared: Pinterest may
    rewrite it, and a pin missed for that would be posted twice."""
    created = pin_created(pin)
    media_type = (pin.get("media") or {}).get("media_type")
    wanted_type = "video" if content.media_urls and is_video(content.media_urls[0]) else "image"
    return (
        created is not None
        and created >= since.replace(microsecond=0)  # created_at keeps whole seconds
        and pin.get("title") == pin_title(content)
        and pin.get("description") == content.text
        and media_type in (None, wanted_type)
    )
