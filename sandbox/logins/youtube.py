"""Google sign-in for YouTube, and `channels.list?mine=true`, which names the signed-in
person's channel (docs/platforms.md §10).

A token's subject is the channel id, which `sandbox/youtube.py` uploads to. The sandbox user's
channel is DEFAULT_CHANNEL; anyone else (`sandbox_user=<id>`) owns `UC<id>`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import google_oauth, oauth
from sandbox.tokens import token_claims
from sandbox.youtube import google_error, unauthorized
from sandbox.youtube_insights import channel_statistics

router = APIRouter(prefix="/youtube", tags=["youtube login"])

DEFAULT_CHANNEL = "UCsandboxuser00000000001"
DEFAULT_TITLE = "Sandbox Channel"
FILTERS = ("mine", "id", "forHandle", "forUsername", "managedByMe")


def channel_of(user: str) -> str:
    return DEFAULT_CHANNEL if user == oauth.DEFAULT_USER else f"UC{user}"


google_oauth.mount(router, "youtube", channel_of)


@router.get("/youtube/v3/channels")
async def list_channels(request: Request, part: str = "", mine: str = "") -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = token_claims(request, token) if scheme.lower() == "bearer" else None
    if claims is None or claims.platform != "youtube":
        return unauthorized()
    if not part:
        return google_error(400, "required", "Required parameter: part", domain="global")
    if not any(request.query_params.get(name) for name in FILTERS):
        return google_error(400, "missingRequiredParameter", "No filter selected.", domain="global")
    items = []
    if mine == "true":
        channel = claims.subject
        title = DEFAULT_TITLE if channel == DEFAULT_CHANNEL else f"Sandbox {channel[2:]}"
        item: dict[str, object] = {"kind": "youtube#channel", "etag": channel, "id": channel}
        if "snippet" in part.split(","):
            item["snippet"] = {"title": title, "description": "", "customUrl": f"@{channel}"}
        if "statistics" in part.split(","):
            item["statistics"] = channel_statistics(request, channel)
        items.append(item)
    answer: dict[str, object] = {
        "kind": "youtube#channelListResponse",
        "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
    }
    if items:  # Google leaves `items` out when there are none
        answer["items"] = items
    return JSONResponse(answer)
