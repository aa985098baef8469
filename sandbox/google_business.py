"""Sandbox stand-in for google_business (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/google_business", tags=["google_business"])
