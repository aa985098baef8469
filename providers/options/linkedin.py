"""LinkedIn's options (docs/platforms.md §4)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, with_config
from typing_extensions import TypedDict

from providers.linkedin_mentions import MAX_NAME_CHARS, URN
from providers.options.base import STRICT, PostType


@with_config(STRICT)
class Mention(TypedDict):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_NAME_CHARS,
            description="As the text says it after an @: `@Acme Corp` for Acme Corp.",
        ),
    ]
    urn: Annotated[
        str,
        Field(
            pattern=f"^(?:{URN.pattern})$",
            description="urn:li:organization:<number> or urn:li:person:<id>.",
        ),
    ]


@with_config(STRICT)
class LinkedInOptions(TypedDict, total=False):
    """A LinkedIn post's choices."""

    title: Annotated[
        str, Field(description="The article's title, when the post has a link and no images.")
    ]
    mentions: Annotated[
        list[Mention],
        Field(description="Organizations and people the text names as @name, mentioned."),
    ]


POST_TYPES = (
    PostType("text", "text alone"),
    PostType("article", "a post `link` and no media: an article titled `title`"),
    PostType("images", "one image, or more as a multi-image post"),
)
