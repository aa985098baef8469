"""The 409 that names each target standing in an action's way, and its status."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import ApiError, problem
from core.models import Target


def conflict(message: str, targets: Sequence[Target]) -> ApiError:
    return ApiError(
        409,
        "conflict",
        message,
        [problem(["targets", t.id], f"the target is {t.status}") for t in targets],
    )
