"""The shape every provider shares: what it is given, what it returns, the rules it enforces.

Publishing is three calls, so the workflow can make each its own activity and wait durably
between them (STYLE.md: separate the mutation from the wait):

- `prepare` does what is not yet public: uploads media, creates containers. Its result holds
  only ids (it travels through Temporal history), never a token.
- `check` is read-only: is what `prepare` made ready (a video encoded, an image processed)?
- `publish` is the one call that makes the post public, and is made once.
- `find_published` answers, after a publish whose answer was lost, whether the post went out
  anyway: the platform's own lookups (recent posts matched by text and time, a container's
  status, a fixed record key). A platform with no such lookup raises `NotCheckable`, and the
  target ends `unconfirmed` rather than risk a second post.

A platform that needs none of this inherits `OneStepPublishing`, whose `prepare` and `check`
do nothing, and whose rules say `prepares=False` so the workflow skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel

# Defined in core because they cross the Temporal boundary; providers use them from here.
from core.messages.delivery import Preparation as Preparation
from core.messages.delivery import PublishBudget as PublishBudget
from core.messages.delivery import Readiness as Readiness
from core.status import Platform

if TYPE_CHECKING:
    from providers.kit.media import MediaDownloads


@dataclass(frozen=True)
class Credentials:
    external_id: str  # the page, profile, board or channel the post goes to
    access_token: str = field(repr=False)  # never printed, never logged


class PostContent(BaseModel):
    text: str
    media_urls: list[str] = []
    # Each media's alt text, in media_urls' order (None or missing: none given); providers
    # read it through `alt`.
    media_alt: list[str | None] = []
    link: str | None = None
    title: str | None = None  # YouTube, Pinterest, GBP events
    options: dict[str, Any] = {}  # platform-specific choices (privacy, board, CTA, ...)

    def alt(self, index: int) -> str | None:
        """The alt text of the media at `index` in media_urls, if any was given."""
        return self.media_alt[index] if index < len(self.media_alt) else None


READY = Readiness(state="ready")


class Published(BaseModel):
    external_id: str
    url: str | None = None
    # Bluesky's record cid: a reply names its root and parent by uri and cid.
    cid: str | None = None


class PartPosition(BaseModel):
    """Where a part after the first goes: under the post itself (`root`, part 0) and the part
    just before it (`parent`; the root for part 1). A reply answers `parent`; a first comment
    is written on `root`."""

    root: Published
    parent: Published
    index: int  # 1 for the first part after the post


@dataclass(frozen=True)
class PartRules:
    """How the platform takes the parts after the post (docs/platforms.md, "Threads and first
    comments"): thread replies, or a comment on the post."""

    kind: str  # "reply" or "comment"
    max_parts: int  # parts after the post itself
    max_text_length: int
    media_allowed: bool = False


@dataclass(frozen=True)
class MediaRules:
    """What the platform accepts in each media file, checked against the fetched bytes.

    None means docs/platforms.md states no limit, so none is enforced here.
    """

    image_formats: frozenset[str] | None = None  # Pillow's names: "JPEG", "PNG", "GIF"
    max_image_bytes: int | None = None
    min_image_bytes: int | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_aspect: float | None = None  # width / height
    max_aspect: float | None = None
    images_allowed: bool = True
    video_allowed: bool = True
    video_alone: bool = False  # a video (and a GIF, unless gif_is_image) must be the only media
    gif_is_image: bool = False  # a GIF embeds beside other images (Bluesky), unlike on X
    # The most bytes of one file the platform takes: the worker's download of it at publish
    # time stops there (providers/kit/media.py). None: the worker's own ceiling only.
    max_file_bytes: int | None = None
    # The longest alt text the platform takes for one media, in characters: a longer one is
    # refused at create time, naming the platform. None: no limit stated (docs/platforms.md).
    max_alt_chars: int | None = None


@dataclass(frozen=True)
class PlatformRules:
    """What the platform accepts, checked when a post is created (never truncated)."""

    max_text_length: int
    max_media: int
    requires_text_or_media: bool = True
    requires_media: bool = False  # Instagram, TikTok, YouTube, Pinterest: no text-only posts
    supports_drafts: bool = False  # the platform keeps an unpublished post for a person
    prepares: bool = False  # needs prepare/check before publish (media upload, containers)
    # The post goes public at `prepare`, not `publish` (TikTok's init posts; `check` watches
    # it process): the attempt ledger then guards `prepare`.
    publishes_at_prepare: bool = False
    # Known caps on publishes per account; a due target waits for room instead of failing.
    budgets: tuple[PublishBudget, ...] = ()
    # How the platform counts text: X weighs characters and URLs, Bluesky counts graphemes.
    text_length: Callable[[str], int] = len
    unit: str = "characters"
    media: MediaRules | None = None
    # None: the platform takes no parts after the post; a post with parts is refused for it.
    parts: PartRules | None = None


class NotCheckable(Exception):
    """The platform offers no way to learn whether an earlier publish went out."""


# Platform clocks and ours disagree a little: a post stamped slightly before the attempt began
# is still that attempt's.
CLOCK_SKEW = timedelta(minutes=2)


class Provider(Protocol):
    platform: ClassVar[Platform]
    rules: ClassVar[PlatformRules]

    # `media`: the worker's one guarded fetcher, through which every media file a provider
    # uploads is downloaded (providers/kit/media.py); a platform that pulls URLs itself
    # ignores it.
    def __init__(self, http: httpx.AsyncClient, base_url: str, media: MediaDownloads) -> None: ...

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation: ...

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness: ...

    async def publish(
        self, account: Credentials, content: PostContent, prep: Preparation, *, draft: bool = False
    ) -> Published: ...

    async def find_published(
        self, account: Credentials, content: PostContent, prepared: Preparation, *, since: datetime
    ) -> Published | None:
        """The post `content` made by an attempt that began at `since`, if it is live."""
        ...


@runtime_checkable
class PartPublishing(Protocol):
    """A provider whose rules have `parts`: it publishes each part after the post, and finds
    one whose answer was lost, as `publish`/`find_published` do for the post itself."""

    async def publish_part(
        self, account: Credentials, content: PostContent, position: PartPosition
    ) -> Published: ...

    async def find_published_part(
        self, account: Credentials, content: PostContent, position: PartPosition, *, since: datetime
    ) -> Published | None: ...


class OneStepPublishing:
    """prepare and check for a platform whose publish is a single call."""

    async def prepare(
        self, account: Credentials, content: PostContent, *, draft: bool = False
    ) -> Preparation:
        return Preparation()

    async def check(self, account: Credentials, prepared: Preparation) -> Readiness:
        return READY
