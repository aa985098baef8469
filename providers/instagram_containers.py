"""What an Instagram container carries, as pure functions (docs/platforms.md §2): a story's, an
image's or a reel's fields (with the reel's cover, feed sharing and collaborators that the
target's options choose, providers/options/instagram.py), a carousel's over its items, and
the `media_type` the published media lists as, which the lookup matches on. They sit apart
from providers/instagram.py because they turn a post into request fields, while the provider
makes the calls and settles what they did.
"""

from __future__ import annotations

from typing import Any

from providers.base import PostContent
from providers.errors import ContentError
from providers.graph import is_video
from providers.options.instagram import post_type


def media_type(media_urls: list[str]) -> str:
    """The `media_type` Graph lists for the media these URLs make (a reel lists as VIDEO)."""
    if len(media_urls) > 1:
        return "CAROUSEL_ALBUM"
    return "VIDEO" if media_urls and is_video(media_urls[0]) else "IMAGE"


def media_fields(url: str, alt: str | None = None) -> dict[str, Any]:
    """The fields of one image or video: a single-media post's, or a carousel item's."""
    # Single feed videos are published as reels since 2023-07-01.
    if is_video(url):
        return {"media_type": "REELS", "video_url": url}
    # Alt text goes on image containers only, carousel children included (§2).
    return {"image_url": url} | ({"alt_text": alt} if alt else {})


def container_fields(content: PostContent, children: list[str]) -> dict[str, Any]:
    """The post's own container: a story, the one image or reel, or a CAROUSEL over
    `children` (its item containers, made first)."""
    if post_type(content.options.get("post_type"), content.media_urls) == "story":
        return _story(content)
    if len(content.media_urls) == 1:
        fields = media_fields(content.media_urls[0], content.alt(0))
        return fields | _reel_options(fields, content.options) | {"caption": content.text}
    body = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": content.text}
    return body | _collaborators(content.options)


def _story(content: PostContent) -> dict[str, Any]:
    """A STORIES container of the one image or video; a story takes no caption (U: the
    reference's story example sends none) and is never a carousel."""
    if len(content.media_urls) != 1:
        raise ContentError("a story is one image or video, not a carousel", platform="instagram")
    url = content.media_urls[0]
    return {"media_type": "STORIES", ("video_url" if is_video(url) else "image_url"): url}


def _reel_options(fields: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """A reel's cover (`cover_url`, or the frame at `thumb_offset` ms) and `share_to_feed`;
    collaborators go on any feed post or reel."""
    chosen = _collaborators(options)
    if fields.get("media_type") != "REELS":
        return chosen
    if "cover_url" in options:
        chosen["cover_url"] = options["cover_url"]
    if "thumb_offset" in options:
        chosen["thumb_offset"] = options["thumb_offset"]
    if "share_to_feed" in options:
        chosen["share_to_feed"] = options["share_to_feed"]
    return chosen


def _collaborators(options: dict[str, Any]) -> dict[str, Any]:
    # Up to 3 usernames, a JSON array (the IG User Media reference).
    return {"collaborators": options["collaborators"]} if options.get("collaborators") else {}
