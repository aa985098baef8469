"""Instagram content publishing stand-in (PLATFORMS.md §2): containers with a status machine,
media_publish, permalinks, the daily publishing quota, Graph's error shape.

A container's statuses can be scripted per container through the control API, so a test can
hold a reel IN_PROGRESS for as many status reads as it likes: the sandbox runs on the wall
clock, the time-skipping workflow tests do not, so reads are the honest unit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.facebook import (
    edge_page,
    graph_error,
    graph_time,
    instagram_username,
    read_params,
    request_token,
)
from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

router = APIRouter(prefix="/instagram", tags=["instagram"])
control = APIRouter(prefix="/_control/instagram", tags=["control"])

MAX_CAPTION = 2_200
# The media_type a published container lists as: reels are VIDEO media.
LISTED_TYPES = {"IMAGE": "IMAGE", "REELS": "VIDEO", "VIDEO": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}
DAILY_PUBLISH_QUOTA = 100  # quota_total in current docs; read it, do not assume it


@dataclass
class Container:
    id: str
    user: str
    kind: str  # IMAGE, REELS, CAROUSEL
    media: list[str]
    caption: str
    children: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)  # statuses for the next reads, then FINISHED
    status: str = "IN_PROGRESS"
    error: str | None = None
    media_id: str | None = None  # what media_publish made of it (Graph never says so)

    def read_status(self) -> str:
        if self.status in ("PUBLISHED", "EXPIRED", "ERROR"):
            return self.status
        self.status = self.script.pop(0) if self.script else "FINISHED"
        if self.status == "ERROR" and self.error is None:
            self.error = "2207004: the media could not be processed"
        return self.status


class InstagramState:
    def __init__(self) -> None:
        self.containers: dict[str, Container] = {}
        self.next_scripts: list[list[str]] = []
        self.published: dict[str, list[float]] = {}  # user → publish times (rolling 24 h)


def _ig(request: Request) -> InstagramState:
    state: SandboxState = request.app.state.sandbox
    found = state.extras.setdefault("instagram", InstagramState())
    assert isinstance(found, InstagramState)
    return found


def _authorize(request: Request, params: dict[str, Any], user: str) -> JSONResponse | None:
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2] if header else str(params.get("access_token", ""))
    claims = token_claims(request, token) if token else None
    if claims is None or claims.platform != "instagram":
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    if claims.subject != user:
        return graph_error(10, "(#10) Application does not have permission for this action")
    return None


@router.post("/{version}/{user}/media")
async def create_container(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    ig = _ig(request)
    state: SandboxState = request.app.state.sandbox
    caption = str(params.get("caption", ""))
    if len(caption) > MAX_CAPTION:
        return graph_error(100, "The caption is too long", subcode=2207010)
    kind = str(params.get("media_type") or "IMAGE")
    if kind == "CAROUSEL":
        children = [c for c in str(params.get("children", "")).split(",") if c]
        if not 2 <= len(children) <= 10 or any(
            c not in ig.containers or ig.containers[c].user != user for c in children
        ):
            return graph_error(100, "Invalid carousel children", subcode=2207028)
        media = [m for c in children for m in ig.containers[c].media]
    else:
        url = str(params.get("video_url") or params.get("image_url") or "")
        if not url.startswith(("http://", "https://")):
            return graph_error(100, "The media could not be fetched from this URI", subcode=2207052)
        media, children = [url], []
    container = Container(
        id=state.next_id(),
        user=user,
        kind=kind,
        media=media,
        caption=caption,
        children=children,
        script=ig.next_scripts.pop(0) if ig.next_scripts else [],
    )
    ig.containers[container.id] = container
    return JSONResponse({"id": container.id})


@router.post("/{version}/{user}/media_publish")
async def media_publish(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    ig = _ig(request)
    container = ig.containers.get(str(params.get("creation_id", "")))
    if container is None or container.user != user:
        return graph_error(100, "(#100) Invalid creation_id")
    if container.status != "FINISHED":
        return graph_error(
            9007, "Media ID is not available", subcode=2207027, type_="OAuthException"
        )
    window = [t for t in ig.published.get(user, []) if t > time.time() - 86_400]
    if len(window) >= DAILY_PUBLISH_QUOTA:
        return graph_error(4, "Application request limit reached", subcode=2207042, status=400)
    ig.published[user] = [*window, time.time()]
    state: SandboxState = request.app.state.sandbox
    media_id = state.next_id()
    container.status, container.media_id = "PUBLISHED", media_id
    state.posts.append(
        SandboxPost(
            platform="instagram",
            account=user,
            id=media_id,
            text=container.caption,
            media=container.media,
            received_at=time.time(),
            url=f"https://www.instagram.com/p/SBX{media_id}/",
        )
    )
    return JSONResponse({"id": media_id})


@router.get("/{version}/{user}/media")
async def list_media(version: str, user: str, request: Request) -> JSONResponse:
    """The account's media, newest first (`GET /{ig-user-id}/media`), paged as Graph pages."""
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    state: SandboxState = request.app.state.sandbox
    kinds = {
        c.media_id: LISTED_TYPES.get(c.kind, "IMAGE")
        for c in _ig(request).containers.values()
        if c.media_id is not None
    }

    def render(post: SandboxPost, fields: list[str]) -> dict[str, Any]:
        media: dict[str, Any] = {
            "caption": post.text or None,  # a media without a caption lists none
            "media_type": kinds.get(post.id, "IMAGE"),
            "timestamp": graph_time(post.received_at),
            "permalink": post.url,
        }
        return {"id": post.id} | {k: v for k, v in media.items() if k in fields and v is not None}

    return edge_page(request, params, state.posts_for("instagram", user), render)


@router.get("/{version}/{user}/content_publishing_limit")
async def publishing_limit(version: str, user: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    if (refused := _authorize(request, params, user)) is not None:
        return refused
    used = [t for t in _ig(request).published.get(user, []) if t > time.time() - 86_400]
    config = {"quota_total": DAILY_PUBLISH_QUOTA, "quota_duration": 86_400}
    return JSONResponse({"data": [{"quota_usage": len(used), "config": config}]})


@router.get("/{version}/{object_id}")
async def read_object(version: str, object_id: str, request: Request) -> JSONResponse:
    params = await read_params(request)
    ig = _ig(request)
    state: SandboxState = request.app.state.sandbox
    if (container := ig.containers.get(object_id)) is not None:
        if (refused := _authorize(request, params, container.user)) is not None:
            return refused
        status = container.read_status()
        answer: dict[str, Any] = {"id": object_id, "status_code": status}
        if status == "ERROR":
            answer["status"] = container.error
        return JSONResponse(answer)
    post = next((p for p in state.posts_for("instagram") if p.id == object_id), None)
    if post is None:
        return _read_user(request, params, object_id)
    if (refused := _authorize(request, params, post.account)) is not None:
        return refused
    return JSONResponse({"id": post.id, "permalink": post.url})


def _read_user(request: Request, params: dict[str, Any], user: str) -> JSONResponse:
    """An Instagram account read with its own token (`GET /{ig-user-id}?fields=id,username`,
    a connection's health check). Graph checks the token before it looks for the object."""
    token = request_token(request, params)
    claims = token_claims(request, token) if token else None
    if token and (claims is None or claims.platform != "instagram"):
        return graph_error(
            190, "Error validating access token: the session is invalid.", subcode=467
        )
    if claims is None or claims.subject != user:
        return graph_error(100, f"Object with ID '{user}' does not exist.", subcode=33)
    fields = str(params.get("fields", "id")).split(",")
    username = {"username": instagram_username(user)} if "username" in fields else {}
    return JSONResponse({"id": user} | username)


class ContainerScript(BaseModel):
    statuses: list[str] = Field(
        description="statuses the next container answers, one per status read, e.g. "
        '["IN_PROGRESS", "IN_PROGRESS", "FINISHED"] or [..., "ERROR"] or [..., "EXPIRED"]'
    )


@control.post("/next-container")
async def script_next_container(script: ContainerScript, request: Request) -> dict[str, Any]:
    _ig(request).next_scripts.append(list(script.statuses))
    return {"data": script.model_dump()}


@control.get("/containers")
async def list_containers(request: Request) -> dict[str, Any]:
    containers = _ig(request).containers.values()
    data = [{"id": c.id, "user": c.user, "kind": c.kind, "status": c.status} for c in containers]
    return {"data": data, "meta": {"count": len(data)}}
