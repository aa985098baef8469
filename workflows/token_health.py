"""TokenHealthWorkflow: one pass over every active account's token, started by a Schedule.

Deterministic code only; the work is one heartbeating activity that resumes where a failed
attempt stopped.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from core.messages.token_health import CHECK_ACCOUNT_TOKENS, TokenHealthReport


@workflow.defn
class TokenHealthWorkflow:
    @workflow.run
    async def run(self) -> TokenHealthReport:
        report: TokenHealthReport = await workflow.execute_activity(
            CHECK_ACCOUNT_TOKENS,
            result_type=TokenHealthReport,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=30)),
        )
        return report
