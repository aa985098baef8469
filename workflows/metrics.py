"""MetricsWorkflow: one pass over the readings that are due, started by a Schedule.

Deterministic code only; the work is one heartbeating activity that resumes where a failed
attempt stopped. What is due is in the database (a reading taken is a row), so a worker that
restarts, or a run that was skipped, loses nothing: the next run takes what is still due.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from core.messages.metrics import COLLECT_METRICS, MetricsReport


@workflow.defn
class MetricsWorkflow:
    @workflow.run
    async def run(self) -> MetricsReport:
        report: MetricsReport = await workflow.execute_activity(
            COLLECT_METRICS,
            result_type=MetricsReport,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=30)),
        )
        return report
