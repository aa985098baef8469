"""How YouTube's error answers are read (docs/platforms.md §10): Google's `error.message` and
its first `errors[].reason`, and the table that turns a reason into crier's taxonomy. It lives
apart from the provider because two callers share it: the provider's calls
(providers/youtube.py, through `PlatformAPI` and the upload session's answers) and the channel
lookup at connect time (providers/connect/youtube.py), which has no provider to ask.
"""

from __future__ import annotations

import httpx

from providers.errors import (
    AuthError,
    ContentError,
    ProviderError,
    RateLimitedError,
    TransientError,
)
from providers.kit.error_table import ErrorTable, Problem, json_body
from providers.youtube_quota import daily_quota, upload_cap


def read_problem(response: httpx.Response) -> Problem:
    """Google's `error.message` and its first `errors[].reason`."""
    try:
        error = json_body(response)["error"]
        reason = str((error.get("errors") or [{}])[0].get("reason") or "") or None
        return Problem(str(error["message"]), reason)
    except (KeyError, TypeError, AttributeError, IndexError):
        return Problem()


# errors[0].reason → taxonomy (docs/platforms.md §10, Postiz youtube), even on a 5xx. Anything else
# falls back on the HTTP status. youtubeSignupRequired: a person must create the channel first.
DAILY_QUOTA = ("quotaExceeded", "dailyLimitExceeded")  # resets at midnight Pacific
RATE_LIMITS = (*DAILY_QUOTA, "uploadLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded")
AUTH = ("authError", "forbidden", "insufficientPermissions", "youtubeSignupRequired")
ERRORS = ErrorTable(
    platform="youtube",
    read=read_problem,
    codes={
        **dict.fromkeys(RATE_LIMITS, RateLimitedError),
        **dict.fromkeys(AUTH, AuthError),
        # A 403 that no token can cure: the video takes no comments (made for kids, say).
        "commentsDisabled": ContentError,
        "invalidCategoryId": ContentError,  # a 400 already; named for the reader
        **dict.fromkeys(("backendError", "internalError"), TransientError),
    },
    waits={**dict.fromkeys(DAILY_QUOTA, daily_quota), "uploadLimitExceeded": upload_cap},
    codes_beat_5xx=True,
)


def youtube_error(response: httpx.Response) -> ProviderError:
    return ERRORS.error(response)
