"""LinkedIn's Images API (docs/platforms.md §4): an image is registered (initializeUpload), then
its whole file PUT to the upload URL; `GET /rest/images/{urn}` tells when it is processed. A
post naming an unprocessed image is refused, so `check` waits until every image is AVAILABLE."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from providers.base import READY, Credentials, Readiness
from providers.kit.api import PlatformAPI, bearer
from providers.kit.media import Media

PROCESSING_CHECK_AFTER = timedelta(seconds=5)


async def upload_image(api: PlatformAPI, account: Credentials, image: Media) -> str:
    """The image's URN, once its bytes are with LinkedIn (processing may still be under way)."""
    request = {"initializeUploadRequest": {"owner": account.external_id}}
    started = await api.call(
        "POST", "/images", account, params={"action": "initializeUpload"}, json=request
    )
    value = started["value"]
    # The upload URL takes the token but not the REST version headers.
    await api.answer(
        "PUT", value["uploadUrl"], None, headers=bearer(account), content=image.content
    )
    return str(value["image"])


def images_ready(statuses: list[dict[str, Any]]) -> Readiness:
    """Failed if any image failed processing, ready once all are available, else pending."""
    failed = [s for s in statuses if s.get("status") == "PROCESSING_FAILED"]
    if failed:
        reason = failed[0].get("processingFailureReason") or "image processing failed"
        return Readiness(state="failed", reason=str(reason))
    if all(s.get("status") == "AVAILABLE" for s in statuses):
        return READY
    return Readiness(state="pending", check_after=PROCESSING_CHECK_AFTER)
