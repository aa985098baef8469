"""Stand-in for Bluesky's video service (docs/platforms.md §7), served beside the PDS at
/bluesky/video: uploadVideo, getJobStatus, getUploadLimits; and the PDS's getServiceAuth,
which signs the service tokens those take, and describeRepo, whose DID document names the PDS
(the upload token's audience).

A job reads JOB_STATE_PROCESSING for its first PROCESSING_READS status reads, then
JOB_STATE_COMPLETED with a blob the PDS holds (so createRecord finds it). A video whose name
contains "fail" ends JOB_STATE_FAILED instead, with the service's message, so a test can make
a job fail through its sample URL. Jobs live in `SandboxState.media` under `bluesky:` keys.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.state import SandboxState
from sandbox.tokens import issue_token, token_claims

router = APIRouter(tags=["bluesky"])

VIDEO_SERVICE_DID = "did:web:video.bsky.app"
UPLOAD_LXM = "com.atproto.repo.uploadBlob"
LIMITS_LXM = "app.bsky.video.getUploadLimits"
MAX_VIDEO_BYTES = 100_000_000
PROCESSING_READS = 2
DAILY_VIDEOS, DAILY_BYTES = 25, 10_000_000_000  # the allowance announced in 2024 (U)
FAILED_MESSAGE = "Video failed to process: the file is not a playable video"


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def _service_claims(request: Request, lxm: str) -> tuple[str, str] | None:
    """The DID a service token acts for and its audience, if the token is for method `lxm`."""
    claims = token_claims(request, _bearer(request))
    if claims is None or claims.platform != "bluesky-service":
        return None
    did, aud, method = [*claims.subject.split(" "), "", ""][:3]
    return (did, aud) if method == lxm else None


@router.get("/xrpc/com.atproto.repo.describeRepo")
async def describe_repo(request: Request, repo: str = "") -> JSONResponse:
    """Public: the account's DID document, whose #atproto_pds service is this PDS."""
    if not repo.startswith("did:"):
        return _error(400, "InvalidRequest", "repo must be a DID")
    pds = str(request.base_url).rstrip("/") + "/bluesky"
    service = {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}
    did_doc = {"id": repo, "service": [service]}
    return JSONResponse({"did": repo, "handle": "handle.invalid", "didDoc": did_doc})


@router.get("/xrpc/com.atproto.server.getServiceAuth")
async def get_service_auth(request: Request, aud: str = "", lxm: str = "") -> JSONResponse:
    """The PDS signs a short-lived token for `aud` and method `lxm`, as the account."""
    claims = token_claims(request, _bearer(request))
    if claims is None or claims.platform != "bluesky":
        return _error(401, "InvalidToken", "Token could not be verified")
    if not aud.startswith("did:") or not lxm:
        return _error(400, "InvalidRequest", "aud must be a DID and lxm a method")
    subject = f"{claims.subject} {aud} {lxm}"  # "|" separates the token's own fields
    expires = int(time.time()) + 30 * 60
    token = issue_token(request.app.state.secret, "bluesky-service", subject, expires_at=expires)
    return JSONResponse({"token": token})


@router.get("/video/xrpc/app.bsky.video.getUploadLimits")
async def get_upload_limits(request: Request) -> JSONResponse:
    holder = _service_claims(request, LIMITS_LXM)
    if holder is None or holder[1] != VIDEO_SERVICE_DID:
        return _error(401, "BadJwtAudience", f"A service token for {VIDEO_SERVICE_DID} is needed")
    did = holder[0]
    used = _state(request).media.get(f"bluesky:video-usage:{did}", {"videos": 0, "bytes": 0})
    videos, size = DAILY_VIDEOS - used["videos"], DAILY_BYTES - used["bytes"]
    body: dict[str, Any] = {
        "canUpload": videos > 0 and size > 0,
        "remainingDailyVideos": videos,
        "remainingDailyBytes": size,
    }
    if not body["canUpload"]:
        body["message"] = "You have reached your daily video upload limit"
    return JSONResponse(body)


@router.post("/video/xrpc/app.bsky.video.uploadVideo")
async def upload_video(request: Request, did: str = "", name: str = "") -> JSONResponse:
    """The service token must be the PDS's (audience its did:web) for uploadBlob."""
    holder = _service_claims(request, UPLOAD_LXM)
    if holder is None or holder[0] != did:
        return _error(401, "AuthenticationRequired", "A service token for uploadBlob is needed")
    # The service writes the blob to the account's PDS, so the token's audience is the PDS's
    # did:web (the host describeRepo names, its port %3A-encoded).
    if holder[1] != "did:web:" + quote(request.url.netloc, safe=""):
        return _error(401, "BadJwtAudience", "the token's audience must be the PDS's did:web")
    state = _state(request)
    data = await request.body()
    if not data or not request.headers.get("content-type", "").startswith("video/"):
        return _error(400, "InvalidRequest", "Expected a video body")
    if len(data) > MAX_VIDEO_BYTES:
        return _error(400, "InvalidRequest", f"Video is over {MAX_VIDEO_BYTES} bytes")
    usage = state.media.setdefault(f"bluesky:video-usage:{did}", {"videos": 0, "bytes": 0})
    usage["videos"] += 1
    usage["bytes"] += len(data)
    job_id = f"job-{state.next_id()}"
    digest = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    cid = "b" + base64.b32encode(digest).decode().lower().rstrip("=")
    job = {"jobId": job_id, "did": did, "state": "JOB_STATE_CREATED", "reads": 0}
    job.update(cid=cid, size=len(data), fails="fail" in name.lower(), created=time.time())
    state.media[f"bluesky:video-job:{job_id}"] = job
    return JSONResponse({"jobStatus": _public(job)})


@router.get("/video/xrpc/app.bsky.video.getJobStatus")
async def get_job_status(request: Request, jobId: str = "") -> JSONResponse:
    state = _state(request)
    job = state.media.get(f"bluesky:video-job:{jobId}")
    if job is None:
        return _error(400, "InvalidRequest", f"Job not found: {jobId}")
    job["reads"] += 1
    if job["reads"] <= PROCESSING_READS:
        job["state"] = "JOB_STATE_PROCESSING"
    elif job["fails"]:
        job["state"] = "JOB_STATE_FAILED"
    else:
        job["state"] = "JOB_STATE_COMPLETED"
        # The service writes the processed video to the account's PDS as a blob.
        state.media[f"bluesky:blob:{job['did']}:{job['cid']}"] = {
            "mimeType": "video/mp4",
            "size": job["size"],
        }
    return JSONResponse({"jobStatus": _public(job)})


def _public(job: dict[str, Any]) -> dict[str, Any]:
    """app.bsky.video.defs#jobStatus."""
    shown: dict[str, Any] = {"jobId": job["jobId"], "did": job["did"], "state": job["state"]}
    if job["state"] == "JOB_STATE_PROCESSING":
        shown["progress"] = 50
    if job["state"] == "JOB_STATE_FAILED":
        shown.update(error="JOB_STATE_FAILED", message=FAILED_MESSAGE)
    if job["state"] == "JOB_STATE_COMPLETED":
        ref = {"$link": job["cid"]}
        shown["blob"] = {"$type": "blob", "ref": ref, "mimeType": "video/mp4", "size": job["size"]}
    return shown
