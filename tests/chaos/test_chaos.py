"""The chaos run's mid-size form (in `make test`: 300 targets, 2 worker kills, 4 s tries);
`make chaos` runs the full one: CRIER_CHAOS_TARGETS=1000 CRIER_CHAOS_KILLS=3, 10 s tries."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.chaos.run import Plan, run_chaos

TARGETS = int(os.environ.get("CRIER_CHAOS_TARGETS", "300"))
# Its own deadline (below) plus the scheduling and the counting.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600 + TARGETS * 0.6)]


async def test_nothing_posted_twice_nothing_lost_through_kills_and_a_server_restart(
    tmp_path: Path, sandbox_http: httpx.AsyncClient, database_url: str
) -> None:
    targets = TARGETS
    plan = Plan(
        targets=targets,
        kills=int(os.environ.get("CRIER_CHAOS_KILLS", "2")),
        # The full run: a thousand targets due within a minute.
        due_within=timedelta(
            seconds=float(
                os.environ.get("CRIER_CHAOS_DUE_WITHIN", "20" if targets <= 100 else "60")
            )
        ),
        deadline=timedelta(minutes=4) + timedelta(seconds=targets * 0.3),
    )
    report = await run_chaos(plan, tmp_path, sandbox_http, database_url)
    print("\n" + "\n".join(report.lines()))

    assert report.kills == plan.kills and report.server_restarts == 1
    assert report.lost == [], report.lines()
    assert report.duplicates == [], report.lines()
    assert report.orphans == [], report.lines()
    assert report.wrong_failures == [], report.lines()
    # crier's own slowness (a try timed out, a worker died) never ends a target dead.
    assert report.dead_unrefused == [], report.lines()
    # The page that refuses everything: its targets end failed, with Graph's own words.
    assert report.statuses["failed"] >= plan.targets // 25
    assert report.statuses["published"] > plan.targets // 2
