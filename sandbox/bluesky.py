"""Sandbox stand-in for bluesky (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/bluesky", tags=["bluesky"])
