"""PostForMe and LATE stand-ins: aggregators that post to platform accounts they have connected.

An API key is a sandbox token whose platform is "postforme" or "late" and whose subject is the
aggregator's customer; a customer sees and posts to only the accounts connected for it, which
tests create through `/_control/aggregators/{name}/accounts`. Media goes through a presigned
flow the sandbox serves itself: the upload URL needs no key, as a presigned URL would not.

A post is kept as a SandboxPost under the target platform and the aggregator's account id.
Its id carries the aggregator that delivered it: `pfm_` (PostForMe's post id) or `late_`
(the platformPostId LATE reports), so a test reading /_control/posts can tell them apart.

The seed documents no error bodies: errors here are a plain {"error", "message"} with the
usual status, and a Retry-After on 429 (only injected faults answer 429).
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sandbox.state import SandboxPost, SandboxState
from sandbox.tokens import token_claims

postforme = APIRouter(prefix="/postforme", tags=["postforme"])
late = APIRouter(prefix="/late", tags=["late"])
control = APIRouter(prefix="/_control/aggregators", tags=["control"])

NAMES = ("postforme", "late")
POST_ID_PREFIX = {"postforme": "pfm_", "late": "late_"}


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _store(request: Request, name: str) -> dict[str, dict[str, Any]]:
    # In extras, so /_control/reset forgets accounts and uploads with everything else.
    stores = _state(request).extras.setdefault("aggregators", {})
    store: dict[str, dict[str, Any]] = stores.setdefault(name, {"accounts": {}, "uploads": {}})
    return store


def _customer(request: Request, name: str) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    claims = token_claims(request, key)
    return claims.subject if claims is not None and claims.platform == name else None


def unauthorized() -> JSONResponse:
    return error(401, "unauthorized", "Invalid or missing API key")


def _accounts(request: Request, name: str, customer: str) -> dict[str, dict[str, Any]]:
    accounts = _store(request, name)["accounts"]
    return {key: a for key, a in accounts.items() if a["customer"] == customer}


def _new_upload(request: Request, name: str, content_type: str) -> tuple[str, str]:
    token = secrets.token_urlsafe(12)
    _store(request, name)["uploads"][token] = {"content_type": content_type, "data": None}
    base = f"{request.app.state.public_url}/{name}"
    return f"{base}/uploads/{token}", f"{base}/media/{token}"


def _hosted(request: Request, name: str, url: str) -> bool:
    """Whether `url` is this aggregator's media URL and its bytes were uploaded."""
    prefix = f"{request.app.state.public_url}/{name}/media/"
    upload = _store(request, name)["uploads"].get(url.removeprefix(prefix))
    return url.startswith(prefix) and upload is not None and upload["data"] is not None


async def _put(request: Request, name: str, token: str) -> Response:
    upload = _store(request, name)["uploads"].get(token)
    if upload is None:
        return error(404, "not_found", "Unknown upload URL")
    data = await request.body()
    if not data:
        return error(400, "empty_body", "No bytes uploaded")
    upload["data"] = data
    return Response(status_code=200)


def _serve(request: Request, name: str, token: str) -> Response:
    upload = _store(request, name)["uploads"].get(token)
    if upload is None or upload["data"] is None:
        return Response(status_code=404)
    return Response(upload["data"], media_type=upload["content_type"])


def _valid_time(value: Any) -> bool:
    if value is None:
        return True
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


# PostForMe


@postforme.get("/social-accounts")
async def postforme_accounts(request: Request) -> JSONResponse:
    if (customer := _customer(request, "postforme")) is None:
        return unauthorized()
    accounts = _accounts(request, "postforme", customer).values()
    return JSONResponse(
        {"data": [{k: a[k] for k in ("id", "platform", "username")} for a in accounts]}
    )


@postforme.post("/media/create-upload-url")
async def postforme_upload_url(request: Request) -> JSONResponse:
    if _customer(request, "postforme") is None:
        return unauthorized()
    content_type = (await request.json()).get("content_type")
    if not isinstance(content_type, str) or "/" not in content_type:
        return error(400, "invalid_request", "content_type is required")
    upload_url, media_url = _new_upload(request, "postforme", content_type)
    return JSONResponse({"upload_url": upload_url, "media_url": media_url})


@postforme.put("/uploads/{token}", include_in_schema=False)
async def postforme_put(token: str, request: Request) -> Response:
    return await _put(request, "postforme", token)


@postforme.get("/media/{token}", include_in_schema=False)
async def postforme_media(token: str, request: Request) -> Response:
    return _serve(request, "postforme", token)


@postforme.post("/social-posts")
async def postforme_post(request: Request) -> JSONResponse:
    if (customer := _customer(request, "postforme")) is None:
        return unauthorized()
    body = await request.json()
    caption, targets, media = (
        body.get("caption", ""),
        body.get("social_accounts"),
        body.get("media") or [],
    )
    if not isinstance(caption, str) or not isinstance(targets, list) or not targets:
        return error(400, "invalid_request", "caption and social_accounts are required")
    if not isinstance(media, list) or not _valid_time(body.get("scheduled_at")):
        return error(400, "invalid_request", "media must be a list, scheduled_at ISO 8601")
    urls = [str(item.get("url")) for item in media if isinstance(item, dict)]
    if len(urls) != len(media) or not all(_hosted(request, "postforme", u) for u in urls):
        return error(400, "invalid_media", "media must be uploaded through create-upload-url")
    if not caption and not urls:
        return error(400, "invalid_request", "a caption or media is required")
    accounts = _accounts(request, "postforme", customer)
    if unknown := [t for t in targets if t not in accounts]:
        return error(404, "not_found", f"Unknown social account: {unknown[0]}")
    state = _state(request)
    post_id = POST_ID_PREFIX["postforme"] + state.next_id()
    for target in targets:
        state.posts.append(
            SandboxPost(
                platform=accounts[target]["platform"],
                account=target,
                id=post_id,
                text=caption,
                media=urls,
                received_at=time.time(),
            )
        )
    return JSONResponse({"id": post_id}, status_code=201)


# LATE


@late.get("/accounts")
async def late_accounts(request: Request) -> JSONResponse:
    if (customer := _customer(request, "late")) is None:
        return unauthorized()
    accounts = _accounts(request, "late", customer).values()
    fields = ("_id", "platform", "username", "profileId")
    return JSONResponse({"accounts": [{k: a[k] for k in fields} for a in accounts]})


@late.post("/media/presign")
async def late_presign(request: Request) -> JSONResponse:
    if _customer(request, "late") is None:
        return unauthorized()
    body = await request.json()
    content_type = body.get("contentType")
    if not body.get("filename") or not isinstance(content_type, str) or "/" not in content_type:
        return error(400, "invalid_request", "filename and contentType are required")
    upload_url, public_url = _new_upload(request, "late", content_type)
    return JSONResponse({"uploadUrl": upload_url, "publicUrl": public_url})


@late.put("/uploads/{token}", include_in_schema=False)
async def late_put(token: str, request: Request) -> Response:
    return await _put(request, "late", token)


@late.get("/media/{token}", include_in_schema=False)
async def late_media(token: str, request: Request) -> Response:
    return _serve(request, "late", token)


@late.post("/posts")
async def late_post(request: Request) -> JSONResponse:
    if (customer := _customer(request, "late")) is None:
        return unauthorized()
    body = await request.json()
    text, targets, items = (
        body.get("content", ""),
        body.get("platforms"),
        body.get("mediaItems") or [],
    )
    if not isinstance(text, str) or not isinstance(targets, list) or not targets:
        return error(400, "invalid_request", "content and platforms are required")
    if not isinstance(items, list) or not _valid_time(body.get("scheduledFor")):
        return error(400, "invalid_request", "mediaItems must be a list, scheduledFor ISO 8601")
    urls = [str(item.get("url")) for item in items if isinstance(item, dict)]
    if len(urls) != len(items) or not all(_hosted(request, "late", u) for u in urls):
        return error(400, "invalid_media", "mediaItems must be uploaded through media/presign")
    if not text and not urls:
        return error(400, "invalid_request", "content or mediaItems is required")
    accounts = _accounts(request, "late", customer)
    for target in targets:
        account = accounts.get(str(target.get("accountId"))) if isinstance(target, dict) else None
        if account is None:
            return error(404, "not_found", f"Unknown account: {target}")
        if (target.get("platform"), target.get("profileId")) != (
            account["platform"],
            account["profileId"],
        ):
            return error(400, "invalid_request", "platform or profileId does not match")
    state = _state(request)
    results = []
    for target in targets:
        post_id = POST_ID_PREFIX["late"] + state.next_id()
        url = f"{request.app.state.public_url}/late/p/{target['platform']}/{post_id}"
        state.posts.append(
            SandboxPost(
                platform=target["platform"],
                account=target["accountId"],
                id=post_id,
                text=text,
                media=urls,
                received_at=time.time(),
                url=url,
            )
        )
        results.append(
            {"platform": target["platform"], "platformPostId": post_id, "platformPostUrl": url}
        )
    post = {"_id": secrets.token_hex(12), "platforms": results}
    return JSONResponse({"post": post}, status_code=201)


# Control


class AccountIn(BaseModel):
    customer: str  # the api key's subject this account is connected for
    platform: str
    username: str


@control.post("/{name}/accounts")
async def connect_account(name: str, account: AccountIn, request: Request) -> JSONResponse:
    if name not in NAMES:
        return error(404, "not_found", f"Unknown aggregator: {name}")
    account_id = f"{name}_acct_{_state(request).next_id()}"
    record = {**account.model_dump(), "id": account_id}
    if name == "late":
        record |= {"_id": account_id, "profileId": f"profile_{account.customer}"}
    _store(request, name)["accounts"][account_id] = record
    return JSONResponse({"data": {k: v for k, v in record.items() if k != "customer"}})
