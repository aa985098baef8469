"""A Temporal client the API connects lazily, so the API starts (and says it is not ready)
while Temporal is still coming up, instead of crashing."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from api.errors import ApiError
from core.config import Settings
from core.temporal import connect


class TemporalConnection:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await connect(self._settings)
                except Exception as exc:  # any failure to connect means the same to a caller
                    raise ApiError(
                        503,
                        "temporal_unavailable",
                        f"cannot reach Temporal at {self._settings.temporal_address}",
                    ) from exc
            return self._client
