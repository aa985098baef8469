"""Threads publishing stand-in (PLATFORMS.md §3): containers with a status machine that expire
after 24 h, threads_publish, permalinks, the 250-posts-a-day publishing limit, Graph's errors.

A container's statuses can be scripted per container through the control API, as for
Instagram: status reads, not the wall clock, are the unit, so time-skipping tests stay honest.
The text limit is counted here with separately written code from the provider's, so the two
check each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from sandbox.facebook import edge_page, graph_error, graph_time, read_params, request_token
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/threads", tags=["threads"])
control = APIRouter(prefix="/_control/threads", tags=["control"])

MAX_TEXT = 500
MAX_CHILDREN = 20
PUBLISH_QUOTA = 250  # posts per rolling 24 h; replies have their own 1,000
QUOTA_WINDOW = 86_400
CONTAINER_LIFETIME = 86_400  # an unpublished container EXPIREs after 24 h
MEDIA_TYPES = ("TEXT", "IMAGE", "VIDEO", "CAROUSEL")
# The media_type a published container lists as.
LISTED_TYPES = {
    "TEXT": "TEXT_POST",
    "IMAGE": "IMAGE",
    "VIDEO": "VIDEO",
    "CAROUSEL": "CAROUSEL_ALBUM",
}


def counted_length(text: str) -> int:
    """Threads' count: an emoji weighs its UTF-8 bytes, any other character 1.

    Walks clusters (a base and what extends it); a cluster holding a pictograph, an emoji
    presentation selector or a keycap mark is an emoji."""
    total, i = 0, 0
    while i < len(text):
        j = i + 1
        if _regional(text[i]) and j < len(text) and _regional(text[j]):
            j += 1  # a flag
        while j < len(text):
            if _extends(text[j]):
                j += 1
            elif text[j] == "\u200d" and j + 1 < len(text):
                j += 2
            else:
                break
        cluster = text[i:j]
        emoji = any(_pictograph(c) or c in "\ufe0f\u20e3" for c in cluster)
        total += len(cluster.encode()) if emoji else len(cluster)
        i = j
    return total


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends(char: str) -> bool:
    code = ord(char)
    return code in (0xFE0F, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _pictograph(char: str) -> bool:
    code = ord(char)
    return any(
        low <= code <= high
        for low, high in ((0x1F000, 0x1FAFF), (0x2300, 0x23FF), (0x2600, 0x27BF), (0x2B00, 0x2BFF))
    )


@dataclass
class Container:
    id: str
    user: str
    kind: str  # TEXT, IMAGE, VIDEO, CAROUSEL
    text: str
    media: list[str]
    carousel_item: bool = False
    children: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)  # statuses for the next reads, then FINISHED
    error: str = "UNKNOWN"  # error_message once ERROR
    created_at: float = field(default_factory=time.time)
    status: str = "IN_PROGRESS"
    thread_id: str | None = None

    def read_status(self) -> str:
        if self.status in ("PUBLISHED", "EXPIRED", "ERROR"):
            return self.status
        if time.time() - self.created_at > CONTAINER_LIFETIME:
            self.status = "EXPIRED"
        else:
            self.status = self.script.pop(0) if self.script else "FINISHED"
        return self.status


class ThreadsState:
    def __init__(self) -> None:
        self.containers: dict[str, Container] = {}
        self.next_scripts: list[tuple[list[str], str]] = []
        self.published: dict[str, list[float]] = {}  # user → publish times

    def used(self, user: str) -> list[float]:
        since = time.time() - QUOTA_WINDOW
        return [t for t in self.published.get(user, []) if t > since]


def _threads(request: Request) -> ThreadsState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("threads", ThreadsState())
    assert isinstance(found, ThreadsState)
    return found


def _authorize(request: Request, params: dict[str, Any], user: str) -> JSONResponse | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    bearer = value if scheme.lower() in ("bearer", "oauth") else ""
    token = bearer or str(params.get("access_token", ""))
    if not token:
        return graph_error(190, "An access token is required to request this resource.")
    claims = token_claims(request, token)
    if claims is None or claims.platform != "threads":
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    if claims.subject != user:
        return graph_error(10, "(#10) Application does not have permission for this action")
    return None


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


@router.post("/{version}/{user}/threads")
async def create_container(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    threads = _threads(request)
    kind = str(params.get("media_type", ""))
    text = str(params.get("text", ""))
    item = _truthy(params.get("is_carousel_item", False))
    if kind not in MEDIA_TYPES:
        return graph_error(100, f"Param media_type must be one of {', '.join(MEDIA_TYPES)}")
    if counted_length(text) > MAX_TEXT:
        return graph_error(100, "Param text must be at most 500 characters long.")
    children: list[str] = []
    if kind == "TEXT":
        if not text or item:
            return graph_error(100, "Param text is required for a TEXT post, never a carousel item")
        media: list[str] = []
    elif kind == "CAROUSEL":
        children = [c for c in str(params.get("children", "")).split(",") if c]
        mine = [threads.containers.get(c) for c in children]
        if not 2 <= len(children) <= MAX_CHILDREN or any(
            c is None or c.user != user or not c.carousel_item for c in mine
        ):
            return graph_error(
                100, f"Param children must list 2 to {MAX_CHILDREN} carousel item containers"
            )
        media = [url for c in mine if c is not None for url in c.media]
    else:
        url = str(params.get("image_url" if kind == "IMAGE" else "video_url", ""))
        if not url.startswith(("http://", "https://")):
            return graph_error(100, "The media could not be fetched from this URI")
        media = [url]
    state: SandboxState = request.app.state.sandbox
    script, error = threads.next_scripts.pop(0) if threads.next_scripts else ([], "UNKNOWN")
    container = Container(
        id=state.next_id(),
        user=user,
        kind=kind,
        text=text,
        media=media,
        carousel_item=item,
        children=children,
        script=script,
        error=error,
    )
    threads.containers[container.id] = container
    return JSONResponse({"id": container.id})


@router.post("/{version}/{user}/threads_publish")
async def threads_publish(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    threads = _threads(request)
    container = threads.containers.get(str(params.get("creation_id", "")))
    if container is None or container.user != user or container.carousel_item:
        return graph_error(100, "Param creation_id must be a container of this user")
    if container.status == "PUBLISHED":
        # A container publishes once: a retried publish can never post twice.
        return graph_error(100, f"The container was already published as {container.thread_id}")
    if container.status != "FINISHED":
        return graph_error(
            9007, "Media ID is not available", subcode=2207027, type_="OAuthException"
        )
    window = threads.used(user)
    if len(window) >= PUBLISH_QUOTA:
        return graph_error(4, "Application request limit reached")
    threads.published[user] = [*window, time.time()]
    state: SandboxState = request.app.state.sandbox
    thread_id = state.next_id()
    container.status, container.thread_id = "PUBLISHED", thread_id
    state.posts.append(
        SandboxPost(
            platform="threads",
            account=user,
            id=thread_id,
            text=container.text,
            media=container.media,
            received_at=time.time(),
            url=f"https://www.threads.com/@sandbox_{user}/post/SBX{thread_id}",
        )
    )
    return JSONResponse({"id": thread_id})


@router.get("/{version}/{user}/threads")
async def list_threads(version: str, user: str, request: Request) -> JSONResponse:
    """The user's threads, newest first (`GET /{threads-user-id}/threads`), paged as Graph
    pages: `since`/`until`, `limit`, `after` cursors."""
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    state: SandboxState = request.app.state.sandbox
    kinds = {
        c.thread_id: LISTED_TYPES[c.kind]
        for c in _threads(request).containers.values()
        if c.thread_id is not None
    }

    def render(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
        thread: dict[str, Any] = {
            "text": post.text or None,  # a post without text lists none
            "media_type": kinds.get(post.id, "TEXT_POST"),
            "timestamp": graph_time(post.received_at),
            "permalink": post.url,
        }
        return {"id": post.id} | {k: v for k, v in thread.items() if k in fields and v is not None}

    return edge_page(request, params, state.posts_for("threads", user), render)


@router.get("/{version}/{user}/threads_publishing_limit")
async def publishing_limit(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    usage: dict[str, Any] = {
        "quota_usage": len(_threads(request).used(user)),
        "config": {"quota_total": PUBLISH_QUOTA, "quota_duration": QUOTA_WINDOW},
    }
    fields = str(params.get("fields", "quota_usage,config")).split(",")
    return JSONResponse({"data": [{k: v for k, v in usage.items() if k in fields}]})


class GraphVersion(Convertor[str]):
    """A Graph version segment (v1.0): Threads' login paths (/oauth/authorize) share the host
    with the API in the sandbox, and a bare two-segment read would swallow them."""

    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", GraphVersion())


@router.get("/{version}/me")
async def me(version: str, request: Request) -> JSONResponse:
    """The token's own profile (`GET /me?fields=id,username`): who a login connected."""
    params = await read_params(request)
    token = request_token(request, params)
    claims = token_claims(request, token) if token else None
    if claims is None or claims.platform != "threads":
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    user = claims.subject
    profile = {"id": user, "username": f"sandbox_{user[-4:]}", "name": f"Sandbox {user[-4:]}"}
    fields = str(params.get("fields", "id")).split(",")
    return JSONResponse({k: v for k, v in profile.items() if k == "id" or k in fields})


@router.get("/{version:graph_version}/{object_id}")
async def read_object(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    fields = str(params.get("fields", "id")).split(",")
    state: SandboxState = request.app.state.sandbox
    if (container := _threads(request).containers.get(object_id)) is not None:
        if (refused := _authorize(request, params, container.user)) is not None:
            return refused
        answer: dict[str, Any] = {"id": object_id, "status": container.read_status()}
        if container.status == "ERROR" and "error_message" in fields:
            answer["error_message"] = container.error
        return JSONResponse(answer)
    post = next((p for p in state.posts_for("threads") if p.id == object_id), None)
    if post is None:
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{object_id}' does not exist.",
            subcode=33,
            type_="GraphMethodException",
        )
    if (refused := _authorize(request, params, post.account)) is not None:
        return refused
    found: dict[str, Any] = {"id": post.id, "permalink": post.url, "text": post.text}
    return JSONResponse({k: v for k, v in found.items() if k == "id" or k in fields})


class ContainerScript(BaseModel):
    statuses: list[str] = Field(
        description="statuses the next container answers, one per status read, e.g. "
        '["IN_PROGRESS", "IN_PROGRESS", "FINISHED"] or [..., "ERROR"] or [..., "EXPIRED"]'
    )
    error_message: str = Field(
        default="UNKNOWN", description="what an ERROR answers, e.g. FAILED_PROCESSING_VIDEO"
    )


class PublishedEarlier(BaseModel):
    user: str
    count: int = Field(ge=1, le=10_000, description="posts to count as published just now")


@control.post("/next-container")
async def script_next_container(script: ContainerScript, request: Request) -> dict[str, Any]:
    _threads(request).next_scripts.append((list(script.statuses), script.error_message))
    return {"data": script.model_dump()}


@control.post("/published-earlier")
async def use_quota(earlier: PublishedEarlier, request: Request) -> dict[str, Any]:
    """Spend some of a user's publishing quota, as posts made elsewhere would."""
    threads = _threads(request)
    now = time.time()
    threads.published[earlier.user] = [*threads.used(earlier.user), *[now] * earlier.count]
    return {"data": {"quota_usage": len(threads.used(earlier.user))}}


@control.get("/containers")
async def list_containers(request: Request) -> dict[str, Any]:
    containers = _threads(request).containers.values()
    data = [
        {"id": c.id, "user": c.user, "kind": c.kind, "status": c.status, "children": c.children}
        for c in containers
    ]
    return {"data": data, "meta": {"count": len(data)}}
