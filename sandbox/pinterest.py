"""Sandbox stand-in for pinterest (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/pinterest", tags=["pinterest"])
