"""What a Threads container carries, as pure functions (docs/platforms.md §3): the text a post
sends, the fields of its containers, and the `media_type` the published thread lists as.
`prepare` builds its containers from them and both lookups match on them, so a post and its
lost answer are described alike (api/preview.py shows the same text). They sit apart from
providers/threads.py because they describe the post, while the provider makes the calls.
"""

from __future__ import annotations

from providers.base import PostContent
from providers.graph import is_video


def post_text(content: PostContent) -> str:
    """The text a container carries: a text-only post without text says its link."""
    if content.media_urls:
        return content.text
    return content.text or content.link or ""


def media_fields(url: str) -> dict[str, str]:
    """The fields of one image or video: a single-media post's, or a carousel item's."""
    if is_video(url):
        return {"media_type": "VIDEO", "video_url": url}
    return {"media_type": "IMAGE", "image_url": url}


def container_fields(
    content: PostContent, children: list[str], reply_to: str | None
) -> dict[str, str]:
    """The post's own container: TEXT, the one image or video, or a CAROUSEL over `children`
    (its item containers, made first). With `reply_to`, it answers that thread."""
    text = {"text": post_text(content)}
    replying = {"reply_to_id": reply_to} if reply_to else {}
    if not content.media_urls:
        body = {"media_type": "TEXT"} | text | replying
        if content.link:
            body["link_attachment"] = content.link  # text posts only
        return body
    if len(content.media_urls) == 1:
        return media_fields(content.media_urls[0]) | text | replying
    return {"media_type": "CAROUSEL", "children": ",".join(children)} | text | replying


def media_type(media_urls: list[str]) -> str:
    """The `media_type` Threads lists for the post these URLs make."""
    if not media_urls:
        return "TEXT_POST"
    if len(media_urls) > 1:
        return "CAROUSEL_ALBUM"
    return "VIDEO" if is_video(media_urls[0]) else "IMAGE"
