"""Sandbox stand-in for x (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/x", tags=["x"])
