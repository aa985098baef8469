"""YouTube: Google's OAuth, then the channel the person signed in with (docs/platforms.md §10).

A Google account has at most one channel here (`channels.list?mine=true`); one without a
channel grants nothing, since uploading would answer `youtubeSignupRequired`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.config import Settings
from core.status import Platform
from providers.connect.base import Candidate, Hosts, TokenSet
from providers.connect.google import GoogleConnector, google_hosts
from providers.errors import AuthError
from providers.youtube_errors import youtube_error


def live_hosts(settings: Settings) -> Hosts:
    return google_hosts(settings.youtube_api_url)


class YouTubeConnector(GoogleConnector):
    platform: ClassVar[Platform] = Platform.YOUTUBE
    # readonly lets the connector find the channel; upload is what publishing needs;
    # yt-analytics.readonly, the channel's daily insights (docs/platforms.md §16.10).
    scopes: ClassVar[str] = (
        "https://www.googleapis.com/auth/youtube.upload "
        "https://www.googleapis.com/auth/youtube.readonly "
        "https://www.googleapis.com/auth/yt-analytics.readonly"
    )

    async def candidates(self, tokens: TokenSet) -> list[Candidate]:
        return [
            Candidate(
                external_id=str(channel["id"]),
                display_name=str((channel.get("snippet") or {}).get("title") or channel["id"]),
                tokens=tokens,
            )
            for channel in await self._my_channels(tokens)
        ]

    async def verify(self, external_id: str, tokens: TokenSet) -> None:
        channels = await self._my_channels(tokens)
        if external_id not in {str(channel.get("id")) for channel in channels}:
            raise AuthError("the token belongs to another YouTube channel", platform="youtube")

    async def _my_channels(self, tokens: TokenSet) -> list[dict[str, Any]]:
        response = await self._api_get(
            "/youtube/v3/channels", tokens, params={"part": "snippet", "mine": "true"}
        )
        if response.status_code != 200:
            raise youtube_error(response)
        # No channel: Google leaves `items` out rather than sending an empty list.
        channels: list[dict[str, Any]] = response.json().get("items") or []
        return channels


CONNECTOR = YouTubeConnector
