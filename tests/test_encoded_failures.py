"""Failure messages and stack traces reach Temporal's history encrypted, as payloads do: an
activity's error (a platform's words, a media URL with its signature, a receiver's answer)
and a workflow's failure read "Encoded failure" there, and crier's own client and workers
still see every word. Histories saved before still replay with this converter."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

# The sandbox re-imports this module to check the workflow; none of this is workflow code.
with workflow.unsafe.imports_passed_through():
    import pytest

    from cli.worker import WORKFLOW_RUNNER, WORKFLOWS
    from core.codec import ENCODING
    from core.config import Settings
    from core.temporal import data_converter
    from tests.support.histories import load, name_of, saved_histories

SECRET_URL = "https://cdn.example/launch.jpg?X-Amz-Signature=do-not-leak-0123456789"
HISTORIES = saved_histories()


@activity.defn
async def failing_publish(media_url: str) -> None:
    raise ApplicationError(f"media {media_url} unusable", type="MediaUnusable")


@workflow.defn
class FailingWorkflow:
    """Catches the activity's failure (the workflow must still read its message), then fails
    itself with words of its own."""

    @workflow.run
    async def run(self, media_url: str) -> None:
        try:
            await workflow.execute_activity(
                failing_publish,
                media_url,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as error:
            cause = error.cause
            assert isinstance(cause, ApplicationError)
            raise ApplicationError(
                f"gave up: {cause.message}", type="GaveUp", non_retryable=True
            ) from None


async def test_failures_are_encoded_in_history_and_decoded_by_crier(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "crier")
    config = dev_env.client.service_client.config
    coded = await Client.connect(config.target_host, data_converter=data_converter(settings))
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        coded,
        task_queue=queue,
        workflows=[FailingWorkflow],
        activities=[failing_publish],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        handle = await coded.start_workflow(
            FailingWorkflow.run, SECRET_URL, id=f"fails-{uuid.uuid4()}", task_queue=queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    # crier's client reads every word: the workflow read the activity's message, too.
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "GaveUp"
    assert cause.message == f"gave up: media {SECRET_URL} unusable"

    # As the server stores it, read without the key.
    raw = await dev_env.client.get_workflow_handle(handle.id).fetch_history()
    assert "do-not-leak" not in raw.to_json()
    assert "test_encoded_failures.py" not in raw.to_json()  # no stack trace either
    [activity_failed] = [
        e.activity_task_failed_event_attributes.failure
        for e in raw.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    [workflow_failed] = [
        e.workflow_execution_failed_event_attributes.failure
        for e in raw.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    ]
    for failure in (activity_failed, workflow_failed):
        assert failure.message == "Encoded failure"
        assert failure.stack_trace == ""
        assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    # What stays plain: the failure's type, which retry policies and operators match on.
    assert activity_failed.application_failure_info.type == "MediaUnusable"
    assert workflow_failed.application_failure_info.type == "GaveUp"

    # The history it made replays under the same converter.
    coded_history = await handle.fetch_history()
    replayer = Replayer(workflows=[FailingWorkflow], data_converter=data_converter(settings))
    replayed = await replayer.replay_workflow(coded_history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=[name_of(path) for path in HISTORIES])
async def test_saved_histories_replay_with_crier_s_converter(path: Path, tmp_path: Path) -> None:
    """Saved with plain payloads and plain failures: the codec passes them through and the
    failure converter reads plain messages as before."""
    converter = data_converter(Settings(env="test", data_dir=tmp_path / "crier"))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None
