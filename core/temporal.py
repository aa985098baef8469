"""The one place that builds a Temporal client, and the search attributes crier uses."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.codec import EncryptionCodec
from core.config import Settings, get_settings
from core.tracing import tracing_interceptors

SA_TENANT = SearchAttributeKey.for_keyword("CrierTenant")
SA_PLATFORM = SearchAttributeKey.for_keyword("CrierPlatform")
SA_STATUS = SearchAttributeKey.for_keyword("CrierStatus")
SA_POST_ID = SearchAttributeKey.for_keyword("CrierPostId")
SA_SCHEDULED_FOR = SearchAttributeKey.for_datetime("CrierScheduledFor")

SEARCH_ATTRIBUTES = (SA_TENANT, SA_PLATFORM, SA_STATUS, SA_POST_ID, SA_SCHEDULED_FOR)


def search_attribute_flags() -> list[str]:
    """`--search-attribute` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


def fire_queue(task_queue: str) -> str:
    """The queue the publishes that wait for their time poll (cli/worker.py): apart from the
    work on `task_queue`, so a burst of waiting publishes cannot take the work's slots."""
    return f"{task_queue}.fires"


def workflow_id_for_target(target_id: str) -> str:
    return f"target-{target_id}"


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic models in, AES-GCM encrypted payloads out (core/codec.py).

    Failures too: their messages and stack traces (platform error text, media URLs, webhook
    receivers' answers, tracebacks) move into an encoded attribute that goes through the codec,
    leaving "Encoded failure" in the history. Their types (the exception class names) and
    retry flags stay plain, as Temporal must read them."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec.from_settings(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def metrics_runtime(bind: str) -> Runtime:
    """A runtime whose Prometheus endpoint serves the SDK's metrics and crier's own."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=bind, counters_total_suffix=True, durations_as_seconds=True
            )
        )
    )


async def connect(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Client:
    settings = settings or get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=tracing_interceptors(settings),
        runtime=runtime,
    )
