"""What the token-health schedule (workflows/token_health.py) and its activity exchange."""

from __future__ import annotations

from pydantic import BaseModel

# The activity's name: the workflow calls it by name, so it never imports httpx or the tables.
CHECK_ACCOUNT_TOKENS = "check_account_tokens"


class TokenHealthReport(BaseModel):
    """What one run of the token-health schedule found (counts only: no ids of tokens)."""

    checked: int = 0
    healthy: int = 0
    refreshed: int = 0
    expired: int = 0
    unreachable: int = 0  # the platform did not answer; looked at again next run
