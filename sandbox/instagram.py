"""Instagram content publishing stand-in (docs/platforms.md §2): containers with a status
machine, media_publish, permalinks, the daily publishing quota, Graph's error shape.

The containers are the machine Threads shares (sandbox/graph_containers.py); this module holds
Instagram's paths and what only Instagram checks, and the comments on a media
(`/{ig-media-id}/comments`), kept as posts of kind "comment" that answer the media.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.facebook import (
    edge_page,
    graph_error,
    graph_refusal,
    graph_time,
    instagram_username,
    read_params,
    request_token,
)
from sandbox.graph_containers import (
    ContainerApi,
    ContainerScript,
    Publishing,
    authorize,
    session_invalid,
)
from sandbox.metrics_numbers import day_numbers
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/instagram", tags=["instagram"])
control = APIRouter(prefix="/_control/instagram", tags=["control"])

MAX_CAPTION = 2_200
MAX_COMMENT = 2_200  # (U): the IG Comments reference states none; API guides give 2,200
INSTAGRAM = Publishing(
    platform="instagram",
    quota=100,  # quota_total in current docs; read it, do not assume it
    # Reels list as VIDEO media; a kind Instagram does not list as itself lists as IMAGE.
    listed_types={
        "IMAGE": "IMAGE",
        "REELS": "VIDEO",
        "VIDEO": "VIDEO",
        "CAROUSEL": "CAROUSEL_ALBUM",
    },
    separate_kinds=frozenset({"STORIES"}),  # listed on /stories, not /media
    listed_fallback="IMAGE",
    text_field="caption",
    permalink=lambda user, media_id: f"https://www.instagram.com/p/SBX{media_id}/",
    error="2207004: the media could not be processed",
    quota_subcode=2207042,
)


def _authorize(request: Request, params: dict[str, Any], user: str) -> JSONResponse | None:
    # Any scheme in the header is read as a token (Threads' stand-in reads only bearer/oauth).
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2] if header else str(params.get("access_token", ""))
    return authorize(request, token, "instagram", user)


CONTAINERS = ContainerApi(INSTAGRAM, _authorize)


@router.post("/{version}/{user}/media")
async def create_container(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    ig = CONTAINERS.machine(request)
    caption = str(params.get("caption", ""))
    if len(caption) > MAX_CAPTION:
        return graph_error(100, "The caption is too long", subcode=2207010)
    kind = str(params.get("media_type") or "IMAGE")
    options, refused = _options(params, kind)
    if refused is not None:
        return refused
    if kind == "CAROUSEL":
        children = [c for c in str(params.get("children", "")).split(",") if c]
        if not 2 <= len(children) <= 10 or any(
            c not in ig.containers or ig.containers[c].user != user for c in children
        ):
            return graph_error(100, "Invalid carousel children", subcode=2207028)
        media = [m for c in children for m in ig.containers[c].media]
        alt = [a for c in children for a in ig.containers[c].alt]
    else:
        url = str(params.get("video_url") or params.get("image_url") or "")
        if not url.startswith(("http://", "https://")):
            return graph_error(100, "The media could not be fetched from this URI", subcode=2207052)
        media, children = [url], []
        # docs/platforms.md §2: `alt_text` is taken on image containers only.
        given = params.get("alt_text")
        alt = [str(given) if given is not None and "image_url" in params else None]
    return ig.create(
        request,
        user,
        kind,
        caption,
        media,
        children=children,
        alt=alt,
        options=options,
        listed=_listed(kind, params),
    )


def _listed(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """What the listings say of the post this container makes: a story lists as the IMAGE or
    VIDEO it is, and every media names its product (FEED, STORY, REELS)."""
    if kind == "STORIES":
        media_type = "VIDEO" if params.get("video_url") else "IMAGE"
        return {"media_type": media_type, "media_product_type": "STORY"}
    return {"media_product_type": "REELS" if kind == "REELS" else "FEED"}


REEL_ONLY = ("cover_url", "thumb_offset", "share_to_feed")


def _options(params: dict[str, Any], kind: str) -> tuple[dict[str, Any], JSONResponse | None]:
    """The container's parameters beyond its media and caption, as taken, or Graph's refusal
    of them: a story is never a carousel item, takes no collaborators; 3 collaborators at
    most; a cover and a thumbnail offset on a reel only. (U) for the codes and wording: the
    reference states the rules, not the errors."""
    if kind == "STORIES" and (params.get("children") or _truthy(params.get("is_carousel_item"))):
        return {}, graph_error(100, "(#100) A story cannot be part of a carousel")
    options: dict[str, Any] = {k: params[k] for k in REEL_ONLY if k in params}
    if kind != "REELS" and ({"cover_url", "thumb_offset"} & options.keys()):
        return {}, graph_error(100, "(#100) cover_url and thumb_offset are for reels only")
    if "collaborators" in params:
        collaborators = _names(params["collaborators"])
        if kind == "STORIES":
            return {}, graph_error(100, "(#100) Collaborators are not supported on stories")
        if len(collaborators) > 3:
            return {}, graph_error(100, "(#100) A media takes at most 3 collaborators")
        options["collaborators"] = collaborators
    return options, None


def _names(value: Any) -> list[str]:
    """Graph takes an array as a JSON array, or its JSON text in a form or query."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.split(",")
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@router.post("/{version}/{user}/media_publish")
async def media_publish(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    ig = CONTAINERS.machine(request)
    container = ig.containers.get(str(params.get("creation_id", "")))
    if container is None or container.user != user:
        return graph_error(100, "(#100) Invalid creation_id")
    return ig.publish(request, container)


@router.get("/{version}/{user}/media")
async def list_media(version: str, user: str, request: Request) -> JSONResponse:
    """The account's media, newest first (`GET /{ig-user-id}/media`), paged as Graph pages."""
    return await CONTAINERS.listing(request, user)


@router.get("/{version}/{user}/stories")
async def list_stories(version: str, user: str, request: Request) -> JSONResponse:
    """The account's live stories, newest first (`GET /{ig-user-id}/stories`). The sandbox
    keeps them past 24 hours: no test runs that long."""
    return await CONTAINERS.listing(request, user, kinds=("STORIES",))


@router.post("/{version}/{media_id}/comments")
async def create_comment(version: str, media_id: str, request: Request) -> JSONResponse:
    """A comment by the media's own account (`POST /{ig-media-id}/comments`, `message`)."""
    params = await read_params(request)
    media = _media(request, media_id)
    owner = None if media is None else media.account
    if (refused := _refusal(request, params, owner, media_id, "post")) is not None:
        return refused
    assert media is not None
    message = str(params.get("message", ""))
    if not message.strip():
        return graph_error(100, "(#100) The parameter message is required")
    if len(message) > MAX_COMMENT:
        return graph_error(100, "(#100) The comment is too long")
    state: SandboxState = request.app.state.sandbox
    comment = SandboxPost(
        platform="instagram",
        account=media.account,
        id=state.next_id(),
        text=message,
        received_at=time.time(),
        kind="comment",
        reply_to=media.id,
    )
    state.posts.append(comment)
    return JSONResponse({"id": comment.id})


@router.get("/{version}/{media_id}/comments")
async def list_comments(version: str, media_id: str, request: Request) -> JSONResponse:
    """The media's comments, newest first (`GET /{ig-media-id}/comments`), paged as Graph pages."""
    params = await read_params(request)
    media = _media(request, media_id)
    owner = None if media is None else media.account
    if (refused := _refusal(request, params, owner, media_id, "get")) is not None:
        return refused
    assert media is not None
    state: SandboxState = request.app.state.sandbox
    comments = [
        p for p in state.posts_for("instagram") if p.kind == "comment" and p.reply_to == media.id
    ]
    return edge_page(request, params, comments, _render_comment)


def _media(request: Request, media_id: str) -> SandboxPost | None:
    post = CONTAINERS.machine(request).post(request, media_id)
    return post if post is not None and post.kind == "post" else None


def _bad_token(request: Request, params: dict[str, Any]) -> JSONResponse | None:
    """Graph checks the token before it looks for the object."""
    token = request_token(request, params)
    claims = token_claims(request, token) if token else None
    return session_invalid() if claims is None or claims.platform != "instagram" else None


def _render_comment(comment: SandboxPost, fields: list[str]) -> dict[str, Any]:
    username = instagram_username(comment.account)
    listed: dict[str, Any] = {
        "text": comment.text,
        "timestamp": graph_time(comment.received_at),
        "username": username,
        "from": {"id": comment.account, "username": username},
    }
    return {"id": comment.id} | {k: v for k, v in listed.items() if k in fields}


@router.get("/{version}/{user}/content_publishing_limit")
async def publishing_limit(version: str, user: str, request: Request) -> JSONResponse:
    return await CONTAINERS.publishing_limit(request, user)


@router.get("/{version}/{object_id}")
async def read_object(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    ig = CONTAINERS.machine(request)
    if (container := ig.containers.get(object_id)) is not None:
        if (refused := _authorize(request, params, container.user)) is not None:
            return refused
        status = container.read_status()
        answer: dict[str, Any] = {"id": object_id, "status_code": status}
        if status == "ERROR":
            answer["status"] = container.error
        return JSONResponse(answer)
    post = ig.post(request, object_id)
    if post is None:
        return _read_user(request, params, object_id)
    if (refused := _authorize(request, params, post.account)) is not None:
        return refused
    # A story has no permalink in the sandbox: the IG Media reference promises none (U).
    link = {"permalink": post.url} if post.url else {}
    return JSONResponse({"id": post.id} | link)


def _read_user(request: Request, params: dict[str, Any], user: str) -> JSONResponse:
    """An Instagram account read with its own token (`GET /{ig-user-id}?fields=id,username`,
    a connection's health check). Graph checks the token before it looks for the object."""
    token = request_token(request, params)
    claims = token_claims(request, token) if token else None
    if token and (claims is None or claims.platform != "instagram"):
        return session_invalid()
    if claims is None or claims.subject != user:
        return graph_error(100, f"Object with ID '{user}' does not exist.", subcode=33)
    fields = str(params.get("fields", "id")).split(",")
    username = {"username": instagram_username(user)} if "username" in fields else {}
    # The total now, which the metrics reader reads (issue 23).
    followers = day_numbers(user, date.today())["followers"]
    counts = {"followers_count": followers} if "followers_count" in fields else {}
    return JSONResponse({"id": user} | username | counts)


@control.post("/next-container")
async def script_next_container(script: ContainerScript, request: Request) -> dict[str, Any]:
    CONTAINERS.machine(request).script_next(script.statuses)
    return {"data": script.model_dump()}


@control.get("/containers")
async def list_containers(request: Request) -> dict[str, Any]:
    fields = ("id", "user", "kind", "status", "options", "published_as")
    return CONTAINERS.machine(request).control_listing(fields)


_refusal = graph_refusal(_bad_token, _authorize)
