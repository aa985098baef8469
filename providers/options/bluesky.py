"""Bluesky's options (docs/platforms.md §7)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, with_config
from typing_extensions import TypedDict

from providers.bluesky import BlueskyProvider
from providers.options.base import STRICT, PostType, language_tag

MAX_LANGS = 3  # app.bsky.feed.post `langs` (docs/platforms.md §7)
# A record key of type tid: the post lexicon's key type (the TID reference regex, §7).
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def tid(value: str) -> str:
    if not TID.match(value):
        raise ValueError("must be a TID: 13 characters of 2-7 and a-z, such as 3jzfcijpj2z2a")
    return value


@with_config(STRICT)
class BlueskyOptions(TypedDict, total=False):
    """A Bluesky post's choices."""

    langs: Annotated[
        list[Annotated[str, AfterValidator(language_tag)]],
        Field(max_length=MAX_LANGS, description="The post's languages, as BCP-47 tags."),
    ]
    alt_texts: Annotated[
        list[str],
        Field(
            max_length=BlueskyProvider.rules.max_media,
            description="Each image's alt text, in the order of the media.",
        ),
    ]
    title: Annotated[
        str, Field(description="The link card's title, when the post has a link and no images.")
    ]
    rkey: Annotated[
        str,
        AfterValidator(tid),
        Field(
            description="The post's record key (a TID), instead of the one crier picks: a "
            "second post with the same key is refused by the PDS.",
        ),
    ]


POST_TYPES = (
    PostType("text", "text alone; its links and @handle mentions become facets"),
    PostType("images", "images, each with its alt text from `alt_texts`"),
    PostType("link card", "a post `link` and no media: an external embed titled `title`"),
)
