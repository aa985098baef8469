"""Sandbox stand-in for threads (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/threads", tags=["threads"])
