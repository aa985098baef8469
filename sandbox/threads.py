"""Threads publishing stand-in (docs/platforms.md §3): containers with a status machine that
expire after 24 h, threads_publish, permalinks, the 250-posts-a-day publishing limit, Graph's
errors.

The containers are the machine Instagram shares (sandbox/graph_containers.py), scripted through
the control API by status reads; this module holds Threads' paths and what only Threads checks.
The text limit is counted here with separately written code from the provider's, so the two
check each other.

A reply is a container created with `reply_to_id` (Threads "Create Replies"), published with
threads_publish like a post but counted against its own quota (1,000 replies a day,
`reply_quota_usage`). One naming a post the sandbox does not hold is refused with a Graph
error when the container is created. The reply is kept as a post of kind "reply", and
`GET /{media-id}/replies` lists a post's top-level replies.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from sandbox.facebook import edge_page, graph_error, graph_time, read_params, request_token
from sandbox.graph_containers import (
    Container,
    ContainerApi,
    ContainerScript,
    GraphContainers,
    Publishing,
    authorize,
    session_invalid,
)
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/threads", tags=["threads"])
control = APIRouter(prefix="/_control/threads", tags=["control"])

MAX_TEXT = 500
MAX_CHILDREN = 20
PUBLISH_QUOTA = 250  # posts per rolling 24 h; replies have their own 1,000
REPLY_QUOTA = 1_000
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
    presentation selector or a keycap mark is an emoji. Written apart from the provider's count
    on purpose: the sandbox is the oracle, and tests/test_threads.py checks that both agree."""
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


THREADS = Publishing(
    platform="threads",
    quota=PUBLISH_QUOTA,
    listed_types=LISTED_TYPES,
    listed_fallback="TEXT_POST",
    text_field="text",
    permalink=lambda user, thread_id: (
        f"https://www.threads.com/@sandbox_{user}/post/SBX{thread_id}"
    ),
    error="UNKNOWN",
    lifetime=CONTAINER_LIFETIME,
    quota_window=QUOTA_WINDOW,
)


def _authorize(request: Request, params: dict[str, Any], user: str) -> JSONResponse | None:
    # Threads names a missing token apart; Instagram's stand-in refuses it as an invalid one.
    token = request_token(request, params)
    if not token:
        return graph_error(190, "An access token is required to request this resource.")
    return authorize(request, token, "threads", user)


CONTAINERS = ContainerApi(THREADS, _authorize)


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


@router.post("/{version}/{user}/threads")
async def create_container(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    threads = CONTAINERS.machine(request)
    kind = str(params.get("media_type", ""))
    text = str(params.get("text", ""))
    item = _truthy(params.get("is_carousel_item", False))
    if kind not in MEDIA_TYPES:
        return graph_error(100, f"Param media_type must be one of {', '.join(MEDIA_TYPES)}")
    if counted_length(text) > MAX_TEXT:
        return graph_error(100, "Param text must be at most 500 characters long.")
    reply_to = str(params.get("reply_to_id", "")) or None
    if reply_to is not None and threads.post(request, reply_to) is None:
        # Graph's shape; the wording is the sandbox's (no documented text for this refusal).
        return graph_error(100, f"Param reply_to_id must be a Threads media ID: {reply_to}")
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
    created = threads.create(
        request, user, kind, text, media, children=children, carousel_item=item
    )
    if reply_to is not None and created.status_code == 200:
        _reply_targets(request)[json.loads(bytes(created.body))["id"]] = reply_to
    return created


def _extras(request: Request, key: str) -> dict[str, Any]:
    state: SandboxState = request.app.state.sandbox
    found: dict[str, Any] = state.extras.setdefault(f"threads:{key}", {})
    return found


def _reply_targets(request: Request) -> dict[str, str]:
    """Each reply container's id → the id of the post it answers."""
    return _extras(request, "reply_to")


def _replies_used(request: Request, user: str) -> list[float]:
    since = time.time() - QUOTA_WINDOW
    return [t for t in _extras(request, "reply_times").get(user, []) if t > since]


def _publish_reply(
    request: Request, threads: GraphContainers, container: Container, parent: str
) -> JSONResponse:
    """A reply published as a post is, on the replies' own quota, kept as kind "reply"."""
    if container.status != "FINISHED":
        return graph_error(
            9007, "Media ID is not available", subcode=2207027, type_="OAuthException"
        )
    used = _replies_used(request, container.user)
    if len(used) >= REPLY_QUOTA:
        return graph_error(4, "Application request limit reached")
    _extras(request, "reply_times")[container.user] = [*used, time.time()]
    state: SandboxState = request.app.state.sandbox
    post_id = state.next_id()
    container.status, container.published_as = "PUBLISHED", post_id
    state.posts.append(
        SandboxPost(
            platform="threads",
            account=container.user,
            id=post_id,
            text=container.text,
            media=container.media,
            received_at=time.time(),
            url=THREADS.permalink(container.user, post_id),
            alt=container.alt,
            kind="reply",
            reply_to=parent,
        )
    )
    return JSONResponse({"id": post_id})


@router.post("/{version}/{user}/threads_publish")
async def threads_publish(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    threads = CONTAINERS.machine(request)
    container = threads.containers.get(str(params.get("creation_id", "")))
    if container is None or container.user != user or container.carousel_item:
        return graph_error(100, "Param creation_id must be a container of this user")
    if container.status == "PUBLISHED":
        # A container publishes once: a retried publish can never post twice.
        return graph_error(100, f"The container was already published as {container.published_as}")
    if (parent := _reply_targets(request).get(container.id)) is not None:
        return _publish_reply(request, threads, container, parent)
    return threads.publish(request, container)


@router.get("/{version}/{user}/threads")
async def list_threads(version: str, user: str, request: Request) -> JSONResponse:
    """The user's threads, newest first (`GET /{threads-user-id}/threads`), paged as Graph
    pages: `since`/`until`, `limit`, `after` cursors."""
    return await CONTAINERS.listing(request, user)


@router.get("/{version}/{user}/threads_publishing_limit")
async def publishing_limit(version: str, user: str, request: Request) -> JSONResponse:
    """The posts' quota (`quota_usage`, `config`) and the replies' (`reply_quota_usage`,
    `reply_config`), as `fields` asks."""
    answer = await CONTAINERS.publishing_limit(request, user)
    fields = str((await read_params(request)).get("fields", "")).split(",")
    if answer.status_code != 200 or not {"reply_quota_usage", "reply_config"} & set(fields):
        return answer
    replies = {
        "reply_quota_usage": len(_replies_used(request, user)),
        "reply_config": {"quota_total": REPLY_QUOTA, "quota_duration": QUOTA_WINDOW},
    }
    [usage] = json.loads(bytes(answer.body))["data"]
    return JSONResponse({"data": [usage | {k: v for k, v in replies.items() if k in fields}]})


@router.get("/{version}/{media_id}/replies")
async def list_replies(version: str, media_id: str, request: Request) -> JSONResponse:
    """A post's top-level replies (`GET /{threads-media-id}/replies`), newest first unless
    `reverse=false`, paged by cursor as Graph pages an edge."""
    params = await read_params(request)
    threads = CONTAINERS.machine(request)
    post = threads.post(request, media_id)
    if post is None:
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{media_id}' does not exist.",
            subcode=33,
            type_="GraphMethodException",
        )
    if (refused := _authorize(request, params, post.account)) is not None:
        return refused
    state: SandboxState = request.app.state.sandbox
    replies = [p for p in state.posts_for("threads") if p.reply_to == media_id]
    if str(params.get("reverse", "true")).lower() == "false":
        replies.reverse()  # edge_page lists the last made first
    kinds = {
        c.published_as: LISTED_TYPES.get(c.kind, "TEXT_POST")
        for c in threads.containers.values()
        if c.published_as is not None
    }

    def render(reply: SandboxPost, fields: list[str]) -> dict[str, Any]:
        listed: dict[str, Any] = {
            "text": reply.text or None,
            "media_type": kinds.get(reply.id, "TEXT_POST"),
            "timestamp": graph_time(reply.received_at),
            "permalink": reply.url,
            "username": f"sandbox_{reply.account[-4:]}",
            "is_reply": True,
            "is_reply_owned_by_me": reply.account == post.account,
            "replied_to": {"id": media_id},
            "root_post": {"id": _root_of(state, reply).id},
            "hide_status": "NOT_HUSHED",
        }
        return {"id": reply.id} | {k: v for k, v in listed.items() if k in fields and v is not None}

    return edge_page(request, {k: v for k, v in params.items() if k != "since"}, replies, render)


def _root_of(state: SandboxState, post: SandboxPost) -> SandboxPost:
    threads = {p.id: p for p in state.posts_for("threads")}
    while post.reply_to is not None and post.reply_to in threads:
        post = threads[post.reply_to]
    return post


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
        return session_invalid()
    user = claims.subject
    profile = {"id": user, "username": f"sandbox_{user[-4:]}", "name": f"Sandbox {user[-4:]}"}
    fields = str(params.get("fields", "id")).split(",")
    return JSONResponse({k: v for k, v in profile.items() if k == "id" or k in fields})


@router.get("/{version:graph_version}/{object_id}")
async def read_object(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    fields = str(params.get("fields", "id")).split(",")
    threads = CONTAINERS.machine(request)
    if (container := threads.containers.get(object_id)) is not None:
        if (refused := _authorize(request, params, container.user)) is not None:
            return refused
        answer: dict[str, Any] = {"id": object_id, "status": container.read_status()}
        if container.status == "ERROR" and "error_message" in fields:
            answer["error_message"] = container.error
        return JSONResponse(answer)
    post = threads.post(request, object_id)
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


class ThreadsContainerScript(ContainerScript):
    error_message: str = Field(
        default="UNKNOWN", description="what an ERROR answers, e.g. FAILED_PROCESSING_VIDEO"
    )


class PublishedEarlier(BaseModel):
    user: str
    count: int = Field(ge=1, le=10_000, description="posts to count as published just now")


@control.post("/next-container")
async def script_next_container(script: ThreadsContainerScript, request: Request) -> dict[str, Any]:
    CONTAINERS.machine(request).script_next(script.statuses, script.error_message)
    return {"data": script.model_dump()}


@control.post("/published-earlier")
async def use_quota(earlier: PublishedEarlier, request: Request) -> dict[str, Any]:
    """Spend some of a user's publishing quota, as posts made elsewhere would."""
    threads = CONTAINERS.machine(request)
    now = time.time()
    threads.published[earlier.user] = [*threads.used(earlier.user), *[now] * earlier.count]
    return {"data": {"quota_usage": len(threads.used(earlier.user))}}


@control.get("/containers")
async def list_containers(request: Request) -> dict[str, Any]:
    return CONTAINERS.machine(request).control_listing(("id", "user", "kind", "status", "children"))
