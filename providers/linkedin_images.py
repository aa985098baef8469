"""What LinkedIn's image reads (`GET /rest/images/{urn}`) say of a post's images, as a pure
function: a post naming an unprocessed image is refused (docs/platforms.md §4), so `check` waits
until every image is AVAILABLE."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from providers.base import READY, Readiness

PROCESSING_CHECK_AFTER = timedelta(seconds=5)


def images_ready(statuses: list[dict[str, Any]]) -> Readiness:
    """Failed if any image failed processing, ready once all are available, else pending."""
    failed = [s for s in statuses if s.get("status") == "PROCESSING_FAILED"]
    if failed:
        reason = failed[0].get("processingFailureReason") or "image processing failed"
        return Readiness(state="failed", reason=str(reason))
    if all(s.get("status") == "AVAILABLE" for s in statuses):
        return READY
    return Readiness(state="pending", check_after=PROCESSING_CHECK_AFTER)
