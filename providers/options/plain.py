"""The platforms that take no options today: what kinds of post each makes from its media."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType


@with_config(STRICT)
class NoOptions(TypedDict, total=False):
    """This platform takes no options."""


THREADS_POST_TYPES = (
    PostType("text", "text alone, with the post `link` attached"),
    PostType("image", "one image"),
    PostType("video", "one video"),
    PostType("carousel", "two or more images or videos"),
)
X_POST_TYPES = (PostType("post", "text with images, or with one video or GIF alone"),)
