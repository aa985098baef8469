"""Sandbox stand-in for tiktok (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/tiktok", tags=["tiktok"])
