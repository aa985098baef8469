"""crier's own Prometheus metrics, recorded from activities through Temporal's metric meter.

They are exported beside the Temporal SDK's runtime metrics by the worker's Prometheus endpoint
(CRIER_METRICS_BIND); outside an activity, or with no endpoint configured, recording is a
no-op.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.common import MetricMeter


def _meter() -> MetricMeter:
    try:
        return activity.metric_meter()
    except RuntimeError:  # not inside an activity (a direct call in a test, say)
        return MetricMeter.noop


def published(platform: str, *, latency: timedelta, lateness: timedelta | None) -> None:
    """A post went out: how long the platform call took, and how late after its time."""
    meter = _meter().with_additional_attributes({"platform": platform})
    meter.create_counter("crier_published", "Targets published").add(1)
    meter.create_histogram_float(
        "crier_publish_latency", "Time of the publishing platform call", "s"
    ).record(latency.total_seconds())
    if lateness is not None:
        meter.create_histogram_float(
            "crier_schedule_lateness", "Published minus scheduled time", "s"
        ).record(max(lateness.total_seconds(), 0.0))


def ended(platform: str, status: str) -> None:
    """A target ended without being published: failed, dead, missed, expired, unconfirmed."""
    meter = _meter().with_additional_attributes({"platform": platform, "status": status})
    meter.create_counter("crier_not_published", "Targets that ended unpublished").add(1)


def count_retry(platform: str, earlier_tries: int) -> None:
    """Counts this publish try if the target was tried before. Counted from the ledger, not
    from the activity's attempt number: after a fire's error the retry is a takeover, a
    different activity on its first attempt."""
    if earlier_tries > 0:
        meter = _meter().with_additional_attributes({"platform": platform})
        meter.create_counter("crier_publish_retries", "Publish tries after the first").add(1)


def reconciled(platform: str, result: str) -> None:
    """A lost answer resolved: found (live), not_found (posted again) or unconfirmed."""
    meter = _meter().with_additional_attributes({"platform": platform, "result": result})
    meter.create_counter("crier_reconciliations", "Lost publish answers resolved").add(1)
