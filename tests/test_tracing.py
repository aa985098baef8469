"""OpenTelemetry tracing through Temporal's TracingInterceptor: off unless configured, and
when on, one trace from the client's start through the workflow run to the activity."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The sandbox re-imports this module to validate GreetWorkflow; core.temporal's cryptography
# cannot load twice in one process, and none of this is used by workflow code.
with workflow.unsafe.imports_passed_through():
    import pytest
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from core.config import Settings
    from core.temporal import connect
    from core.tracing import tracer_provider, tracing_interceptors


@activity.defn
async def greet(name: str) -> str:
    return f"Hello, {name}"


@workflow.defn
class GreetWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRIER_OTEL_EXPORTER", raising=False)
    settings = Settings(_env_file=None)
    assert settings.otel_exporter == ""
    assert tracer_provider(settings) is None
    assert tracing_interceptors(settings) == []


async def test_connect_traces_when_configured(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        temporal_address=time_skipping_env.client.service_client.config.target_host,
        otel_exporter="console",  # no network, and nothing is printed unless a span ends
    )
    client = await connect(settings)
    [interceptor] = client.config()["interceptors"]
    assert isinstance(interceptor, TracingInterceptor)
    # One provider (and batching thread) per process, however often connect is called.
    assert tracer_provider(settings) is tracer_provider(settings.model_copy())


async def test_a_workflow_run_is_one_trace(time_skipping_env: WorkflowEnvironment) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = await Client.connect(
        time_skipping_env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
        interceptors=tracing_interceptors(Settings(otel_exporter="otlp"), provider=provider),
    )
    task_queue = f"test-{uuid.uuid4()}"

    # The worker gets the interceptor from its client, as crier's worker does.
    async with Worker(client, task_queue=task_queue, workflows=[GreetWorkflow], activities=[greet]):
        result = await client.execute_workflow(
            GreetWorkflow.run, "crier", id=f"greet-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == "Hello, crier"

    spans: dict[str, ReadableSpan] = {}
    for span in exporter.get_finished_spans():
        assert span.name not in spans, f"{span.name} recorded twice"
        spans[span.name] = span
    start_workflow = spans["StartWorkflow:GreetWorkflow"]
    run_workflow = spans["RunWorkflow:GreetWorkflow"]
    start_activity = spans["StartActivity:greet"]
    run_activity = spans["RunActivity:greet"]

    def parent_of(span: ReadableSpan) -> int | None:
        return span.parent.span_id if span.parent is not None else None

    def id_of(span: ReadableSpan) -> int:
        assert span.context is not None
        return int(span.context.span_id)

    # The client's start is the root. Workflow spans are ended as soon as they are made (they
    # must be replay-safe), so what the workflow schedules hangs off the client's span, beside
    # its run, not under it; the activity's run hangs off its scheduling.
    assert parent_of(start_workflow) is None
    assert parent_of(run_workflow) == id_of(start_workflow)
    assert parent_of(start_activity) == id_of(start_workflow)
    assert parent_of(run_activity) == id_of(start_activity)
    assert start_workflow.context is not None
    assert {span.context.trace_id for span in spans.values() if span.context} == {
        start_workflow.context.trace_id
    }
