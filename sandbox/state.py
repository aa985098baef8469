"""What the sandbox remembers: posts it accepted, media, injected faults, calls received, and
the grants of the platforms' OAuth flows (their behaviour is in sandbox/oauth.py, above this)."""

from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any


# The OAuth flows' data. It sits here, with no import of sandbox/oauth.py, so that module can
# import this one and never the other way round.
@dataclass
class CodeGrant:
    platform: str
    client_id: str
    redirect_uri: str
    user: str
    challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class RefreshGrant:
    platform: str
    subject: str
    rotates: bool  # single use: a refresh answers with a new one and spends this one
    expires_at: float  # 0: never
    spent: bool = False


@dataclass
class OAuthState:
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # access tokens revoked before expiry


@dataclass
class SandboxPost:
    platform: str
    account: str
    id: str
    text: str
    received_at: float  # unix seconds, wall clock: benchmarks compare it with the due time
    media: list[str] = field(default_factory=list)
    link: str | None = None
    url: str | None = None
    published: bool = True  # False: an unpublished (draft) Page post
    # Each media's alt text as the platform took it (where its API takes it), in media order.
    alt: list[str | None] = field(default_factory=list)
    # A part after a post: "reply" (a thread's next post) or "comment" (a first comment), and
    # the id of the post or part it answers. "post" for the post itself.
    kind: str = "post"
    reply_to: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "id": self.id,
            "text": self.text,
            "media": self.media,
            "link": self.link,
            "url": self.url,
            "published": self.published,
            "alt": self.alt,
            "kind": self.kind,
            "reply_to": self.reply_to,
            "received_at": self.received_at,
        }


@dataclass
class Fault:
    """Answer the next `times` matching calls with `status` and `body`, after `delay` seconds.

    With `accept_then_drop`, the call is handled for real (a post is created) and then the
    connection breaks before the answer is complete: the caller cannot know it succeeded.
    With `accept_then_stall`, the call is handled for real and the answer then waits `delay`
    seconds: a caller with a shorter timeout gives up on a post that exists.
    A `probability` below 1 makes the fault strike that share of matching calls, at random
    (chaos tests); a call it spares does not use up one of its `times`.
    """

    method: str
    path: str  # a regular expression searched in the request path
    times: int = 1
    status: int = 500
    body: dict[str, Any] | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    accept_then_drop: bool = False
    accept_then_stall: bool = False
    probability: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.method in ("*", method)
            and re.search(self.path, path) is not None
            and (self.probability >= 1 or random.random() < self.probability)
        )


class SandboxState:
    def __init__(self) -> None:
        self.posts: list[SandboxPost] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str, float]] = []
        # Per-platform state a platform's module keeps (Instagram's containers, say).
        self.extras: dict[str, Any] = {}
        # Codes, refresh tokens and revocations of the platforms' OAuth flows.
        self.oauth = OAuthState()
        self._ids = itertools.count(1_000_000_001)

    def next_id(self) -> str:
        return str(next(self._ids))

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    def record_call(self, method: str, path: str) -> None:
        self.calls.append((method, path, time.time()))

    def posts_for(
        self, platform: str | None = None, account: str | None = None
    ) -> list[SandboxPost]:
        return [
            post
            for post in self.posts
            if (platform is None or post.platform == platform)
            and (account is None or post.account == account)
        ]

    def reset(self) -> None:
        self.posts.clear()
        self.media.clear()
        self.faults.clear()
        self.calls.clear()
        self.extras.clear()
        self.oauth = OAuthState()
