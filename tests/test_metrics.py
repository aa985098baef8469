"""The worker's Prometheus endpoint: Temporal's runtime metrics and crier's own (published,
latency, lateness, retries, reconciliations, unpublished ends), scraped over HTTP."""

from __future__ import annotations

import re

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.worker import worker_for
from core.config import Settings
from core.db import Database
from core.status import TargetStatus
from core.temporal import metrics_runtime
from tests.support.deliveries import start_delivery
from tests.support.factories import make_facebook_page, make_post, make_tenant
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


def value(metrics: str, name: str, **labels: str) -> float:
    """The sample of `name` whose labels include `labels`."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in the scrape")


async def test_a_publish_shows_in_the_workers_metrics(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    db: Database,
    sandbox_http: httpx.AsyncClient,
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        runtime=metrics_runtime(bind),
        data_converter=pydantic_data_converter,
    )
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    post, target = await make_post(db, tenant, page, body="Counted")
    # One 503 first: a retry, and a lookup that finds nothing before the post goes out.
    fault = {"method": "POST", "path": "/feed$", "status": 503, "times": 1}
    (await sandbox_http.post("/_control/faults", json=fault)).raise_for_status()
    quick = settings.model_copy(update={"publish_initial_interval": settings.http_timeout_seconds})

    async with worker_for(client, quick) as worker, worker:
        handle = await start_delivery(db, client, quick, post, target, due=None)
        assert (await handle.result()).status == TargetStatus.PUBLISHED
        async with httpx.AsyncClient(timeout=10) as http:
            scrape = (await http.get(f"http://{bind}/metrics")).text

    assert value(scrape, "crier_published_total", platform="facebook") == 1
    assert value(scrape, "crier_publish_retries_total", platform="facebook") == 1
    assert value(scrape, "crier_reconciliations_total", result="not_found") == 1
    assert value(scrape, "crier_schedule_lateness_count", platform="facebook") == 1
    assert value(scrape, "crier_publish_latency_count", platform="facebook") == 1
    # The SDK's own metrics come through the same endpoint.
    assert re.search(r"^temporal_activity_execution_latency", scrape, re.MULTILINE)
