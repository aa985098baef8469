"""An approved post publishes the bytes its reviewer saw, or nothing (issue 17, item 4).

The API fingerprinted each media URL when it checked it (core/media_fetch.py). Before an
approved target is prepared or sent, its media are fetched again and compared: a file changed
behind its URL fails the target with the reason, instead of posting bytes nobody approved.
"""

from __future__ import annotations

import httpx

from core.config import Settings
from core.media_fetch import MediaTooLarge, current_fingerprint, media_client
from providers.errors import ContentError, TransientError

CHECKER = "media"  # how these errors name their source in the target's record


class ReviewedMedia:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http: httpx.AsyncClient | None = None  # made on first use: most posts need none

    async def ensure_unchanged(self, expected: dict[str, str]) -> None:
        """Raise ContentError for a file that changed since it was checked, TransientError
        when a file cannot be read now (counted against the target's tries)."""
        if not expected:
            return
        if self._http is None:
            self._http = media_client(allow_private=self._settings.is_development)
        for url, fingerprint in expected.items():
            try:
                now = await current_fingerprint(
                    self._http,
                    url,
                    max_bytes=self._settings.media_fetch_max_bytes,
                    timeout=self._settings.media_fetch_timeout_seconds,
                )
            except (httpx.HTTPError, TimeoutError, MediaTooLarge) as exc:
                reason = str(exc) or type(exc).__name__
                raise TransientError(
                    f"media {url} could not be read to compare it with what was approved: {reason}",
                    platform=CHECKER,
                ) from None
            if now != fingerprint:
                raise ContentError(
                    f"media {url} changed after it was approved; not published. Restore the "
                    "file, or post the new one for approval",
                    platform=CHECKER,
                    code="media_changed",
                )
