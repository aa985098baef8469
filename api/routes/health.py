"""`/healthz` says the process is up; `/readyz` says whether it can actually deliver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.errors import ApiError
from core.db import Database
from core.temporal import fire_queue

router = APIRouter(tags=["health"])

# A polling worker renews its long poll at least once a minute; older than this, it is gone.
POLLER_FRESHNESS = timedelta(seconds=90)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]  # each part: "ok", or what is wrong with it


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A part named in `checks` failed"}},
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    database: Database = request.app.state.db
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # reported, not raised: readiness lists every failing part
        checks["database"] = f"unreachable: {type(exc).__name__}"
    settings = request.app.state.settings
    try:
        client = await request.app.state.temporal.get()
        checks["temporal"] = "ok"
        now = datetime.now(UTC)
        for kind, name, queue in (
            (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow_worker", settings.task_queue),
            (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity_worker", settings.task_queue),
            # Publishes waiting for their time have a queue of their own (cli/worker.py).
            (
                TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
                "fire_worker",
                fire_queue(settings.task_queue),
            ),
        ):
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=settings.temporal_namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=kind,
                )
            )
            fresh = [
                p
                for p in described.pollers
                if now - p.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESHNESS
            ]
            checks[name] = "ok" if fresh else f"no worker polls task queue {queue}"
    except ApiError:
        checks["temporal"] = f"unreachable at {settings.temporal_address}"
    except Exception as exc:
        checks["temporal"] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values()) and "workflow_worker" in checks
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )
