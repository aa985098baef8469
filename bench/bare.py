"""The floor crier is measured against: a bare workflow that sleeps until its time and then
runs one activity that does nothing but note the time. Same dev server, its own worker
process with the SDK's defaults, its own task queue.

Run as `python -m bench.bare <temporal address> <task queue>`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

BARE_WORKFLOW = "BareWorkflow"


@activity.defn(name="bare_noop")
async def noop() -> float:
    return time.time()


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    @workflow.run
    async def run(self, due: float) -> float:
        wait = due - workflow.now().timestamp()
        if wait > 0:
            await workflow.sleep(wait)
        fired: float = await workflow.execute_activity(
            "bare_noop", start_to_close_timeout=timedelta(seconds=30), result_type=float
        )
        return fired


async def main(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    worker = Worker(client, task_queue=task_queue, workflows=[BareWorkflow], activities=[noop])
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
