"""A worker that starts while Temporal restarts keeps running: its start-up calls (the
token-health schedule, the webhook relay) wait for the server instead of ending the process.
In the full chaos run a worker started just before the server's restart exited over them, and
nothing published until the run's deadline."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from cli.schedules import TOKEN_HEALTH_SCHEDULE_ID
from cli.worker import _ensure_background_work
from core.config import Settings
from core.temporal import connect
from tests.chaos.run import Processes, chaos_settings
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(120)


async def test_start_up_calls_wait_out_a_server_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings: Settings = chaos_settings(tmp_path, "http://127.0.0.1:9")
    settings.data_dir.mkdir(parents=True)
    processes = Processes(settings, tmp_path)
    await processes.start_server()
    try:
        client = await connect(settings)
        assert processes.server is not None
        processes.server.terminate()
        await asyncio.to_thread(processes.server.wait, 30)
        caplog.set_level(logging.WARNING, logger="cli.worker")
        ensuring = asyncio.create_task(_ensure_background_work(client, settings))

        async def retrying() -> bool:
            return "could not set up schedules yet" in caplog.text

        await eventually(retrying, what="the worker to retry its start-up calls", within=60)
        assert not ensuring.done()  # still trying, where it used to raise and end the worker
        await processes.start_server()
        async with asyncio.timeout(60):
            await ensuring
        schedule = await client.get_schedule_handle(TOKEN_HEALTH_SCHEDULE_ID).describe()
        assert schedule.id == TOKEN_HEALTH_SCHEDULE_ID
    finally:
        processes.stop()
