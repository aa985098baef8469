"""OpenTelemetry traces of crier's Temporal traffic: client calls, workflow runs and
activities, through `temporalio.contrib.opentelemetry.TracingInterceptor`.

Off unless CRIER_OTEL_EXPORTER is set. The interceptor goes on the client (core/temporal.py),
so every worker built from that client traces too.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.config import Settings

TRACER_NAME = "crier"


@lru_cache
def _provider(exporter: str, endpoint: str, service_name: str) -> TracerProvider:
    # Cached: api, worker and cli may call `connect` more than once, and each provider owns a
    # batching thread. Not installed as OpenTelemetry's global provider, which can be set only
    # once per process; the interceptor is handed its tracer instead.
    span_exporter: SpanExporter = (
        ConsoleSpanExporter() if exporter == "console" else OTLPSpanExporter(endpoint or None)
    )
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return provider


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """The process's provider for these settings; None when tracing is off."""
    if not settings.otel_exporter:
        return None
    return _provider(settings.otel_exporter, settings.otel_endpoint, settings.otel_service_name)


def tracing_interceptors(
    settings: Settings, *, provider: TracerProvider | None = None
) -> list[Interceptor]:
    """The client interceptors for `Client.connect`: none when tracing is off.

    `provider` replaces the one the settings would build (a test's in-memory exporter)."""
    provider = provider or tracer_provider(settings)
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer(TRACER_NAME))]
