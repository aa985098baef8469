"""The container machine that Instagram's and Threads' stand-ins share (docs/platforms.md §2, §3).

Both platforms publish in the same steps on Graph: create a container, read its status until
FINISHED, publish it once, list what was published, read the publishing quota. What differs is
data (the quota, the listed media types, the permalinks, some refusals) and how a token is read,
so each platform module hands this machine its `Publishing` and its token check (a
`ContainerApi`, which also answers the edges both platforms answer alike: the listing and the
publishing limit) and keeps only its own paths and its own checks.

A container's statuses can be scripted per container through the control API, so a test can
hold a reel IN_PROGRESS for as many status reads as it likes: the sandbox runs on the wall
clock, the time-skipping workflow tests do not, so reads are the honest unit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.facebook import edge_page, graph_error, graph_time, read_params
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

FINAL_STATUSES = ("PUBLISHED", "EXPIRED", "ERROR")  # a container answers these for good


@dataclass(frozen=True)
class Publishing:
    """What one platform's containers are made of."""

    platform: str  # the posts' platform, and the key of this machine in SandboxState.extras
    quota: int  # publishes a user may make in `quota_window` seconds
    listed_types: dict[str, str]  # a container's kind → the media_type its post lists as
    listed_fallback: str  # the media_type of a post no known container made
    text_field: str  # what a listing calls a post's text (caption, text)
    permalink: Callable[[str, str], str]  # (user, post id) → the post's public URL
    error: str  # what an ERROR container answers when its script names nothing else
    quota_subcode: int | None = None  # the error_subcode of the quota refusal, if any
    lifetime: float = math.inf  # seconds after which an unpublished container EXPIREs
    quota_window: int = 86_400  # the quota is counted over this rolling window
    # Kinds listed on an edge of their own (Instagram's stories), not the main listing, and
    # given no permalink when published.
    separate_kinds: frozenset[str] = frozenset()


@dataclass
class Container:
    id: str
    user: str
    kind: str  # the media_type it was created with (IMAGE, REELS, TEXT, CAROUSEL, ...)
    text: str  # Instagram's caption, Threads' text
    media: list[str]
    children: list[str] = field(default_factory=list)
    carousel_item: bool = False
    script: list[str] = field(default_factory=list)  # statuses for the next reads, then FINISHED
    error: str = "UNKNOWN"  # what it answers once ERROR
    lifetime: float = math.inf
    created_at: float = field(default_factory=time.time)
    status: str = "IN_PROGRESS"
    published_as: str | None = None  # the post publishing made of it (Graph never says so)
    alt: list[str | None] = field(default_factory=list)  # each media's alt text, as taken
    options: dict[str, Any] = field(default_factory=dict)  # other parameters taken, for tests
    listed: dict[str, Any] = field(default_factory=dict)  # listing fields of its post, if set

    def read_status(self) -> str:
        if self.status in FINAL_STATUSES:
            return self.status
        if time.time() - self.created_at > self.lifetime:
            self.status = "EXPIRED"
        else:
            self.status = self.script.pop(0) if self.script else "FINISHED"
        return self.status


class ContainerScript(BaseModel):
    statuses: list[str] = Field(
        description="statuses the next container answers, one per status read, e.g. "
        '["IN_PROGRESS", "IN_PROGRESS", "FINISHED"] or [..., "ERROR"] or [..., "EXPIRED"]'
    )


def session_invalid() -> JSONResponse:
    return graph_error(190, "Error validating access token: the session is invalid.", subcode=467)


def authorize(request: Request, token: str, platform: str, user: str) -> JSONResponse | None:
    """Graph's refusal of a token that is not the platform's (190) or is another user's (10)."""
    claims = token_claims(request, token) if token else None
    if claims is None or claims.platform != platform:
        return session_invalid()
    if claims.subject != user:
        return graph_error(10, "(#10) Application does not have permission for this action")
    return None


class GraphContainers:
    def __init__(self, publishing: Publishing) -> None:
        self.publishing = publishing
        self.containers: dict[str, Container] = {}
        self.next_scripts: list[tuple[list[str], str]] = []  # (statuses, error) of the next ones
        self.published: dict[str, list[float]] = {}  # user → publish times

    def used(self, user: str) -> list[float]:
        since = time.time() - self.publishing.quota_window
        return [t for t in self.published.get(user, []) if t > since]

    def usage(self, user: str, fields: Collection[str]) -> dict[str, Any]:
        """What the publishing-limit edge answers for `user`: those of its `fields` asked for."""
        config = {
            "quota_total": self.publishing.quota,
            "quota_duration": self.publishing.quota_window,
        }
        usage = {"quota_usage": len(self.used(user)), "config": config}
        return {k: v for k, v in usage.items() if k in fields}

    def script_next(self, statuses: list[str], error: str | None = None) -> None:
        self.next_scripts.append(
            (list(statuses), self.publishing.error if error is None else error)
        )

    def create(
        self,
        request: Request,
        user: str,
        kind: str,
        text: str,
        media: list[str],
        *,
        children: list[str],
        carousel_item: bool = False,
        alt: list[str | None] | None = None,
        options: dict[str, Any] | None = None,
        listed: dict[str, Any] | None = None,
    ) -> JSONResponse:
        """A new container, checked already by its platform; it answers the next script."""
        state: SandboxState = request.app.state.sandbox
        script, error = (
            self.next_scripts.pop(0) if self.next_scripts else ([], self.publishing.error)
        )
        container = Container(
            id=state.next_id(),
            user=user,
            kind=kind,
            text=text,
            media=media,
            children=children,
            carousel_item=carousel_item,
            script=script,
            error=error,
            lifetime=self.publishing.lifetime,
            alt=alt or [],
            options=options or {},
            listed=listed or {},
        )
        self.containers[container.id] = container
        return JSONResponse({"id": container.id})

    def publish(self, request: Request, container: Container) -> JSONResponse:
        """Publish a container its platform found to be the user's: refused until FINISHED
        and once the quota is spent, else a post, counted against the quota."""
        if container.status != "FINISHED":
            return graph_error(
                9007, "Media ID is not available", subcode=2207027, type_="OAuthException"
            )
        window = self.used(container.user)
        if len(window) >= self.publishing.quota:
            return graph_error(
                4, "Application request limit reached", subcode=self.publishing.quota_subcode
            )
        self.published[container.user] = [*window, time.time()]
        state: SandboxState = request.app.state.sandbox
        post_id = state.next_id()
        container.status, container.published_as = "PUBLISHED", post_id
        state.posts.append(
            SandboxPost(
                platform=self.publishing.platform,
                account=container.user,
                id=post_id,
                text=container.text,
                media=container.media,
                received_at=time.time(),
                url=None
                if container.kind in self.publishing.separate_kinds
                else self.publishing.permalink(container.user, post_id),
                alt=container.alt,
            )
        )
        return JSONResponse({"id": post_id})

    def listing(
        self,
        request: Request,
        params: dict[str, Any],
        user: str,
        kinds: Collection[str] | None = None,
    ) -> JSONResponse:
        """The user's posts made of containers of `kinds` (None: all but the separate kinds),
        newest first, paged as Graph pages an edge."""
        publishing = self.publishing
        state: SandboxState = request.app.state.sandbox
        made = {c.published_as: c for c in self.containers.values() if c.published_as is not None}

        def shown(post: SandboxPost) -> bool:
            kind = made[post.id].kind if post.id in made else None
            if kinds is not None:
                return kind in kinds
            return kind not in publishing.separate_kinds

        def render(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
            container = made.get(post.id)
            listed: dict[str, Any] = {
                publishing.text_field: post.text or None,  # a post without text lists none
                "media_type": publishing.listed_types.get(
                    container.kind if container else "", publishing.listed_fallback
                ),
                "timestamp": graph_time(post.received_at),
                "permalink": post.url,
            } | (container.listed if container else {})
            return {"id": post.id} | {
                k: v for k, v in listed.items() if k in fields and v is not None
            }

        # The user's own posts only: a comment (Instagram's first comments) or a reply (a
        # Threads thread's parts, listed on the parent's /replies edge) is not one.
        posts = [
            p for p in state.posts_for(publishing.platform, user) if p.kind == "post" and shown(p)
        ]
        return edge_page(request, params, posts, render)

    def post(self, request: Request, post_id: str) -> SandboxPost | None:
        state: SandboxState = request.app.state.sandbox
        return next((p for p in state.posts_for(self.publishing.platform) if p.id == post_id), None)

    def control_listing(self, fields: Collection[str]) -> dict[str, Any]:
        """The containers as the control API lists them, each with `fields`."""
        data = [{k: v for k, v in _row(c).items() if k in fields} for c in self.containers.values()]
        return {"data": data, "meta": {"count": len(data)}}


def _row(container: Container) -> dict[str, Any]:
    return {
        "id": container.id,
        "user": container.user,
        "kind": container.kind,
        "status": container.status,
        "children": container.children,
        "options": container.options,
        "published_as": container.published_as,
    }


# Graph's refusal of a request (its params read already) whose token is not `user`'s, or None.
Authorize = Callable[[Request, dict[str, Any], str], JSONResponse | None]


@dataclass(frozen=True)
class ContainerApi:
    """One platform's container endpoints over the machine: its `Publishing`, and how it reads
    and checks a request's token (`authorize`), which is where the two platforms differ."""

    publishing: Publishing
    authorize: Authorize

    def machine(self, request: Request) -> GraphContainers:
        """The platform's containers in this sandbox, made on first use."""
        state: SandboxState = request.app.state.sandbox
        found = state.extras.setdefault(self.publishing.platform, GraphContainers(self.publishing))
        assert isinstance(found, GraphContainers)
        return found

    async def listing(
        self, request: Request, user: str, kinds: Collection[str] | None = None
    ) -> JSONResponse:
        """The user's posts (of `kinds`, if named), newest first, paged as Graph pages an edge."""
        params = await read_params(request)
        if (refused := self.authorize(request, params, user)) is not None:
            return refused
        return self.machine(request).listing(request, params, user, kinds)

    async def publishing_limit(self, request: Request, user: str) -> JSONResponse:
        """The user's publishing quota and its use (`?fields=quota_usage,config`)."""
        params = await read_params(request)
        if (refused := self.authorize(request, params, user)) is not None:
            return refused
        fields = str(params.get("fields", "quota_usage,config")).split(",")
        return JSONResponse({"data": [self.machine(request).usage(user, fields)]})
