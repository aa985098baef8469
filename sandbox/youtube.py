"""Sandbox stand-in for youtube (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/youtube", tags=["youtube"])
