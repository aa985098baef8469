"""What the metrics schedule (workflows/metrics.py) and its activity exchange."""

from __future__ import annotations

from pydantic import BaseModel

# The activity's name: the workflow calls it by name, so it never imports httpx or the tables.
COLLECT_METRICS = "collect_metrics"


class MetricsReport(BaseModel):
    """What one run of the metrics schedule did (counts only)."""

    post_readings: int = 0
    account_days: int = 0
    over_budget: int = 0  # readings left for a later run: the account's budget was spent
    unreachable: int = 0  # the platform did not answer or refused; tried again next run
    anomalies: int = 0
