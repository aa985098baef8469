"""Saved histories must still replay: a workflow change that would break runs already in
flight fails here, before it ships. Record new ones with CRIER_RECORD_HISTORIES=1 (see
tests/test_publish_workflow.py) and keep the old ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from cli.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 4


@pytest.mark.parametrize(
    "history",
    [WorkflowHistory.from_json(path.stem, path.read_text()) for path in HISTORIES],
    ids=[path.stem for path in HISTORIES],
)
async def test_saved_history_replays(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
