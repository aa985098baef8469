"""Sandbox stand-in for linkedin (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/linkedin", tags=["linkedin"])
