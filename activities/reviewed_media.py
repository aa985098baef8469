"""An approved post publishes the bytes its reviewer saw, or nothing (issue 17, item 4).

The API fingerprinted each media URL when it checked it (core/media_fetch.py). Before an
approved target is prepared or sent, its media are fetched again and compared: a file changed
behind its URL fails the target with the reason, instead of posting bytes nobody approved.
"""

from __future__ import annotations

from core.config import Settings
from core.guarded_fetch import FetchError, GuardedFetcher
from core.media_fetch import current_fingerprint
from providers.errors import ContentError, TransientError
from providers.kit.media import host_in_trouble

CHECKER = "media"  # how these errors name their source in the target's record


class ReviewedMedia:
    def __init__(self, settings: Settings, fetcher: GuardedFetcher) -> None:
        self._settings = settings
        self._fetcher = fetcher  # the worker's one guarded fetcher, shared with the providers

    async def ensure_unchanged(self, expected: dict[str, str]) -> None:
        """Raise ContentError for a file that changed since it was checked, or that can no
        longer be read (refused, too large); TransientError when its host is down or slow
        now (counted against the target's tries)."""
        for url, fingerprint in expected.items():
            try:
                now = await current_fingerprint(
                    self._fetcher,
                    url,
                    max_bytes=self._settings.media_fetch_max_bytes,
                    deadline=self._settings.media_fetch_timeout_seconds,
                )
            except FetchError as error:
                message = (
                    f"media from {error}: could not be read to compare it with what was approved"
                )
                if host_in_trouble(error):
                    raise TransientError(message, platform=CHECKER, maybe_sent=False) from None
                raise ContentError(message, platform=CHECKER, code="media_unreadable") from None
            if now != fingerprint:
                raise ContentError(
                    f"media {url} changed after it was approved; not published. Restore the "
                    "file, or post the new one for approval",
                    platform=CHECKER,
                    code="media_changed",
                )
