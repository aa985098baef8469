"""Property-based: whatever any route is sent, the API answers without a server error and
inside its own OpenAPI schema (status, content type, body). Schemathesis generates the cases
from /openapi.json; each runs against the real app, database and error handlers.

Temporal is deliberately unreachable here: routes that need it must answer 503, not 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from core.config import Settings
from core.db import Database
from core.migrate import upgrade
from core.status import Platform
from tests.support.databases import fresh_database
from tests.support.factories import make_account, make_tenant
from tests.support.servers import free_port

schema = schemathesis.openapi.from_dict(create_app(Settings(env="test")).openapi())


@schemathesis.check
def no_crash(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """No 500, ever. A 502 or 503 is an answer the API documents: the platform or Temporal is
    away (Temporal is unreachable in this test on purpose), and nothing was lost."""
    if response.status_code >= 500 and response.status_code not in (502, 503):
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


CHECKS = [
    no_crash,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class LoopApi:
    """The app's lifespan and an ASGI client on a private event loop, for synchronous
    hypothesis tests (hypothesis drives its examples from a plain function)."""

    def __init__(self, base: Path, database_url: str) -> None:
        self.settings = Settings(
            env="test",
            data_dir=base / "crier",
            database_url=database_url,
            temporal_address=f"127.0.0.1:{free_port()}",
        )
        upgrade(self.settings)
        self.loop = asyncio.new_event_loop()
        self.app = create_app(self.settings)
        self._lifespan = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._lifespan.__aenter__())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://crier.test"
        )
        self.key = self.loop.run_until_complete(self._tenant())

    async def _tenant(self) -> str:
        db = Database(self.settings)
        tenant = await make_tenant(db)
        await make_account(db, self.settings, tenant, Platform.X, "1600000000000000001")
        await db.dispose()
        return tenant.api_key

    def send(self, kwargs: dict[str, Any]) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(**kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self._lifespan.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def loop_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopApi]:
    with fresh_database() as database_url:
        api = LoopApi(tmp_path_factory.mktemp("properties"), database_url)
        yield api
        api.close()


# The event stream never ends by design; its refusals are tested in test_events_stream.
@schema.exclude(path="/v1/events").parametrize()
@settings(
    # 25 a route (40 before issues 22 and 23 added about 20 routes): fewer cases a route, no
    # route left out, so the run on two databases keeps closer to CI's time on two cores.
    max_examples=25,
    # The same cases every run: a landing is not left to chance. (A random run found the
    # unbounded offset that overflowed SQLite; test_api keeps that case.)
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_input_makes_a_server_error_or_an_answer_outside_the_schema(
    case: schemathesis.Case[Any], loop_api: LoopApi
) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://crier.test")
    kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {loop_api.key}"}
    kwargs.pop("cookies", None)
    if "data" in kwargs:  # raw bodies (a malformed JSON, say) go as content to httpx
        kwargs["content"] = kwargs.pop("data")
    response = loop_api.send(kwargs)
    case.validate_response(response, checks=CHECKS)
