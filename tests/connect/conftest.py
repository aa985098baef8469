"""Fixtures for the connect tests: each connector runs against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The app's own HTTP client, which the connector under test sends through (and which
    plays the person's browser at the consent screen)."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
