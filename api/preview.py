"""What one target would send its platform: the text as the platform receives it (LinkedIn's
little text, Threads' link standing in for no text), measured as the platform counts it, with
its media, link and options. The dry run (`POST /v1/posts/validate`) and the post page under
/ui show the same preview, built here from the same rules create checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from api.schemas import PartPreview, TargetPreview, TextLength
from core.status import Platform, TargetMode
from providers.base import PostContent
from providers.linkedin_lookup import post_body
from providers.registry import rules_for
from providers.threads_containers import post_text


def _linkedin_text(content: PostContent) -> str:
    # The commentary as publish builds it: escaped, with each mention as its element.
    return str(post_body("", content)["commentary"])


# How a platform turns the post's text into what it sends; the others send it as it is.
SENT_TEXT: dict[Platform, Callable[[PostContent], str]] = {
    Platform.LINKEDIN: _linkedin_text,
    Platform.THREADS: post_text,
}


def target_preview(
    platform: Platform,
    *,
    text: str,
    media_urls: Sequence[str],
    link: str | None,
    options: Mapping[str, Any],
    mode: TargetMode,
    parts: Sequence[tuple[str, Sequence[str]]] = (),  # each part's text and media
) -> TargetPreview:
    """One target as its platform would receive it, `text` being the target's own (its
    override_body, else the post's body)."""
    rules = rules_for(platform)
    content = PostContent(
        text=text,
        media_urls=list(media_urls),
        link=link,
        # A dry run previews targets whose options have problems: a title that is not text
        # is named among them, and left out here.
        title=title if isinstance(title := options.get("title"), str) else None,
        options=dict(options),
    )
    sent = SENT_TEXT[platform](content) if platform in SENT_TEXT else text
    return TargetPreview(
        platform=platform,
        mode=mode,
        text=sent,
        length=TextLength(
            count=rules.text_length(text), max=rules.max_text_length, unit=rules.unit
        ),
        media_urls=list(media_urls),
        max_media=rules.max_media,
        link=link,
        title=content.title,
        options=dict(options),
        parts=_parts_preview(platform, parts),
    )


def _parts_preview(
    platform: Platform, parts: Sequence[tuple[str, Sequence[str]]]
) -> list[PartPreview]:
    """Each part as sent: a reply or a comment carries its text as written, counted as the
    platform counts it against the part's own limit (none when the platform takes no parts:
    create names that problem)."""
    rules = rules_for(platform)
    if rules.parts is None:
        return []
    return [
        PartPreview(
            index=index,
            kind=rules.parts.kind,
            text=text,
            length=TextLength(
                count=rules.text_length(text), max=rules.parts.max_text_length, unit=rules.unit
            ),
            media_urls=list(media),
        )
        for index, (text, media) in enumerate(parts, start=1)
    ]
