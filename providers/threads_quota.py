"""Why Threads refused a publish (docs/platforms.md §3): the 250-posts-a-day cap answers like
any call-rate limit, with no error code of its own, so a refused threads_publish is explained
by a second read, of `threads_publishing_limit`. It is kept apart from providers/threads.py
because it is a question about the account, not about the post being published.
"""

from __future__ import annotations

from datetime import timedelta

from providers.base import Credentials
from providers.errors import ProviderError, RateLimitedError
from providers.kit.api import PlatformAPI


async def explain_quota(
    api: PlatformAPI, account: Credentials, limited: RateLimitedError
) -> RateLimitedError:
    """A refused publish may be the 250-posts-a-day cap, which no error code names: ask
    threads_publishing_limit, and if the quota is spent, wait out its window."""
    try:
        path = f"/{account.external_id}/threads_publishing_limit"
        params = {"fields": "quota_usage,config"}
        found = await api.call("GET", path, account, params=params)
        [usage] = found["data"]
        used, config = int(usage["quota_usage"]), usage["config"]
        total, window = int(config["quota_total"]), int(config["quota_duration"])
    except (ProviderError, KeyError, TypeError, ValueError):
        return limited
    if used < total:
        return limited  # the call-rate limit, not the daily cap
    spent = f"{used} of {total} posts in {timedelta(seconds=window)}"
    return RateLimitedError(
        f"the publishing quota is spent: {spent}",
        platform="threads",
        code=limited.code,
        http_status=limited.http_status,
        # The window rolls: a slot frees when the oldest post in it turns `window` old,
        # which is at most `window` from now.
        retry_after=timedelta(seconds=window),
    )
