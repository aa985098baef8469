"""The low-engagement rule (issue 23 item 4), as one pure function.

A post's engagement is its likes + comments + shares at 24 h (clicks are left out: not every
platform gives them, and a rule that counted them would judge platforms differently). It is
low when it is below `ratio` x the median engagement at 24 h of the account's previous posts
(up to `window` of them), once at least `min_posts` of them exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median

ENGAGEMENT = ("likes", "comments", "shares")


def engagement(values: Mapping[str, int]) -> int:
    return sum(values.get(name, 0) for name in ENGAGEMENT)


def low_engagement(
    current: int, previous: Sequence[int], *, ratio: float, min_posts: int
) -> float | None:
    """The median it fell below, if `current` is low by the rule; None otherwise."""
    if ratio <= 0 or len(previous) < min_posts:
        return None
    typical = float(median(previous))
    return typical if current < ratio * typical else None
