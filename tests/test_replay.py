"""Saved histories must still replay: a workflow change that would break runs already in
flight fails here, before it ships. Record new ones with CRIER_RECORD_HISTORIES=<release>
(tests/support/histories.py) and keep the old ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from cli.worker import WORKFLOWS
from tests.support.histories import load, name_of, saved_histories

HISTORIES = saved_histories()


def test_every_workflow_that_sleeps_has_histories_to_replay() -> None:
    types = {
        load(path).events[0].workflow_execution_started_event_attributes.workflow_type.name
        for path in HISTORIES
    }
    assert {"PublishTargetWorkflow", "WebhookDeliveryWorkflow"} <= types


@pytest.mark.parametrize("path", HISTORIES, ids=[name_of(path) for path in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(load(path), raise_on_replay_failure=True)
