"""Plausible, changing metrics for the sandbox's platforms (issue 23).

Each post's numbers grow with its age towards a ceiling of its own (drawn from its id), as
real posts' do: most of it in the first day, a little more over the week. An account's day is
drawn from the account and the date, around a slowly growing follower count. The same post at
the same age, or the same account on the same day, always gives the same numbers, so a test
can check what it stored; a later reading of a post is never smaller than an earlier one.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date


def _draw(*parts: str) -> float:
    """A number in [0, 1) fixed by `parts`."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def post_numbers(post_id: str, age_seconds: float) -> dict[str, int]:
    """A post's lifetime counts at `age_seconds` after it was posted."""
    scale = 200 + int(_draw(post_id, "scale") * 4800)  # impressions it will reach in a week
    hours = max(age_seconds, 0) / 3600
    grown = 0.8 * (1 - math.exp(-hours / 6)) + 0.2 * min(hours / 168, 1)
    impressions = int(scale * grown)
    reach = int(impressions * (0.6 + 0.3 * _draw(post_id, "reach")))
    rate = 0.02 + 0.06 * _draw(post_id, "engagement")  # engaged share of those reached
    likes = int(reach * rate)
    return {
        "impressions": impressions,
        "reach": reach,
        "likes": likes,
        "comments": int(likes * (0.05 + 0.15 * _draw(post_id, "comments"))),
        "shares": int(likes * (0.02 + 0.1 * _draw(post_id, "shares"))),
        "clicks": int(reach * 0.01 * (1 + _draw(post_id, "clicks"))),
        "saves": int(likes * 0.1 * _draw(post_id, "saves")),
        "video_views": int(impressions * 0.4 * _draw(post_id, "views")),
    }


def day_numbers(account: str, day: date) -> dict[str, int]:
    """An account's counts for one day."""
    ordinal = day.toordinal()
    base = 500 + int(_draw(account, "followers") * 20000)
    followers = base + int((ordinal - 739000) * (1 + 5 * _draw(account, "growth")))
    wobble = 0.6 + 0.8 * _draw(account, day.isoformat())
    impressions = int(followers * 0.3 * wobble)
    return {
        "followers": max(followers, 0),
        "impressions": impressions,
        "reach": int(impressions * 0.7),
        "profile_views": int(impressions * 0.05),
        "engagements": int(impressions * 0.04),
    }
