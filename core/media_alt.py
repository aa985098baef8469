"""Alt text beside media URLs: a post's (or a target's own) media are stored as their URLs,
as before, and a parallel list of alt texts (None where none was given). Rows written before
alt text existed have no list; every reader goes through `aligned`, which pads it."""

from __future__ import annotations

from collections.abc import Sequence

from core.models import Post, Target


def aligned(urls: Sequence[str], alts: Sequence[str | None] | None) -> list[str | None]:
    """One alt text (or None) per URL, whatever was stored."""
    given = list(alts or [])[: len(urls)]
    return given + [None] * (len(urls) - len(given))


def target_media_alt(post: Post, target: Target) -> list[str | None]:
    """The alt text of each media a target publishes: its own media's, else the post's.

    This is what the delivery's PostContent carries as `media_alt`."""
    if target.override_media_urls is not None:
        return aligned(target.override_media_urls, target.override_media_alt)
    return aligned(post.media_urls, post.media_alt)
