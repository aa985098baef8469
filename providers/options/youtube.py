"""YouTube's options: the upload's snippet and status (docs/platforms.md §10)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from providers.options.base import STRICT, PostType
from providers.youtube_lookup import MAX_TITLE


@with_config(STRICT)
class YouTubeOptions(TypedDict, total=False):
    """A video upload's choices."""

    title: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_TITLE,
            description="The video's title; left out, the text's first line cut to fit.",
        ),
    ]
    privacy: Annotated[
        Literal["public", "unlisted", "private"],
        Field(description="status.privacyStatus: public when left out; a draft is private."),
    ]
    tags: Annotated[list[str], Field(description="snippet.tags.")]


POST_TYPES = (PostType("video", "one video, uploaded; the text is its description"),)
