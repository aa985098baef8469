"""Pinterest's options (docs/platforms.md §8). The board is the connected account itself, and
the pin's link is the post's `link`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType, http_url
from providers.pinterest_lookup import MAX_TITLE

MAX_ALT_TEXT = 500  # docs/platforms.md §8


@with_config(STRICT)
class PinterestOptions(TypedDict, total=False):
    """A pin's choices."""

    title: Annotated[
        str,
        Field(
            max_length=MAX_TITLE,
            description="The pin's title; left out, the text's first line cut to fit.",
        ),
    ]
    alt_text: Annotated[str, Field(max_length=MAX_ALT_TEXT, description="The image's alt text.")]
    cover_image_url: Annotated[
        str,
        AfterValidator(http_url),
        Field(description="A video pin's cover; left out, the video's first frame."),
    ]


POST_TYPES = (
    PostType("image pin", "one image"),
    PostType("video pin", "one video (.mp4, .mov, .m4v), uploaded, with a cover"),
)
