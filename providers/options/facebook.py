"""Facebook Page options (docs/platforms.md §1): what a video becomes, and a Page video's title."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType


@with_config(STRICT)
class FacebookOptions(TypedDict, total=False):
    """A Facebook Page post's choices."""

    post_type: Annotated[
        Literal["post", "reel"],
        Field(
            description=(
                "With one video: `post` (the default) publishes a Page video, `reel` a reel "
                "(9:16, 3 to 90 seconds). Text and photo posts ignore it."
            )
        ),
    ]
    title: Annotated[str, Field(min_length=1, description="A Page video's title.")]


POST_TYPES = (
    PostType("text", "text, with a link preview when the post has a `link`"),
    PostType("photos", "photos attached to one Page post"),
    PostType("video", "one video: a Page video"),
    PostType("reel", "one video with `post_type` `reel`"),
)
