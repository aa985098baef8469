"""Request limits other than rates (S5): the body cap, bounded target options, and no pooled
database connection held while the API waits on someone else (a platform, a workflow)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from sqlalchemy.pool import QueuePool
from sqlmodel import select
from starlette.types import Receive, Scope, Send
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from api.services.steering import steer
from api.target_options import MAX_SERIALIZED_BYTES
from core.config import Settings
from core.db import Database
from core.messages.delivery import TargetState
from core.models import Target
from core.status import Platform, TargetStatus
from tests.support.api import api_client, bearer
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.servers import serving

CAP = 2000


def checked_out_counter(db: Database) -> Callable[[], int]:
    """How many of the pool's connections are out of it now (SQLite's and PostgreSQL's pools
    alike are queue pools)."""
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout


def capped(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_request_bytes": CAP})


def assert_too_large(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == "payload_too_large"
    assert str(CAP) in error["message"]


async def test_a_body_declared_too_large_is_refused_unread(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    async with api_client(capped(settings), None) as api:
        answer = await api.post(
            "/v1/posts", content=b"{" + b" " * CAP + b"}", headers=bearer(tenant.api_key)
        )
        assert_too_large(answer)
        # Under the cap, the same route reads and judges the body as before.
        fine = await api.post("/v1/posts", json={"body": "x"}, headers=bearer(tenant.api_key))
        assert fine.status_code == 422, fine.text


async def test_a_chunked_body_is_counted_as_it_streams(settings: Settings, db: Database) -> None:
    """No Content-Length to check: the cap is met while reading, over real HTTP."""
    tenant = await make_tenant(db)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"body": "'
        for _ in range(100):
            sent.append(1000)
            yield b"x" * 1000

    app = create_app(capped(settings))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        answer = await http.post("/v1/posts", content=chunks(), headers=bearer(tenant.api_key))
        assert "content-length" not in answer.request.headers
        assert answer.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(answer)


async def test_options_are_bounded_before_the_platform_is_known(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.BLUESKY, "did:plc:one")

    async def create(options: dict[str, Any]) -> httpx.Response:
        body = {"body": "hi", "targets": [{"account_id": account.id, "options": options}]}
        return await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))

    async with api_client(settings, None) as api:
        # The bounds hold before the platform is known; its own model comes after
        # (tests/test_platform_options.py).
        wrong = await create({"deep": {"a": {"b": {"c": {}}}}, "long": "x" * 2001})
        assert wrong.status_code == 422, wrong.text
        [detail] = wrong.json()["error"]["details"]
        assert detail["loc"] == ["body", "targets", 0, "options"]
        for named in (
            "deep.a.b.c: nested deeper than 4 levels",
            "long: 2001 characters, at most 2000",
        ):
            assert named in detail["msg"], detail["msg"]

        many = await create({f"k{i}": i for i in range(33)})
        assert "33 keys, at most 32" in many.json()["error"]["details"][0]["msg"]
        big = await create({f"k{i}": "x" * 1000 for i in range(9)})
        assert f"at most {MAX_SERIALIZED_BYTES}" in big.json()["error"]["details"][0]["msg"]

        # What the platforms take passes through untouched.
        chosen = {"langs": ["en", "pt"], "rkey": "3jzfcijpj2z2a", "alt_texts": ["a jug"]}
        fine = await create(chosen)
        assert fine.status_code == 201, fine.text
        assert fine.json()["data"]["targets"][0]["options"] == chosen


async def test_no_connection_is_held_while_a_platform_revokes(
    settings: Settings, db: Database, time_skipping_env: WorkflowEnvironment
) -> None:
    """Disconnecting revokes the token at the platform (up to its timeout): the request's
    pooled connection is back in the pool for the whole wait."""
    tenant = await make_tenant(db)
    asked, answer = asyncio.Event(), asyncio.Event()

    async def slow_platform(scope: Scope, receive: Receive, send: Send) -> None:
        asked.set()
        await answer.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with serving(slow_platform, lifespan="off") as platform_url:
        settings = settings.model_copy(update={"sandbox_url": platform_url})
        account = await make_account(db, settings, tenant, Platform.LINKEDIN, "urn:li:person:1")
        app = create_app(settings, temporal=time_skipping_env.client)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://crier.test"
            ) as api,
        ):
            pool = checked_out_counter(app.state.db)
            request = asyncio.create_task(
                api.delete(f"/v1/accounts/{account.id}", headers=bearer(tenant.api_key))
            )
            asking = asyncio.create_task(asked.wait())
            await asyncio.wait({asking, request}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            assert asked.is_set(), request.result().text if request.done() else "no call"
            held = pool()
            answer.set()
            gone = await request
    assert gone.status_code == 200, gone.text
    assert gone.json()["data"]["revoked"] is True
    assert held == 0


async def test_no_connection_is_held_while_workflows_answer_an_update(
    settings: Settings, db: Database
) -> None:
    """steer() gives its targets' connection back before the Updates' wait (up to 30 s)."""
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1")
    post, _ = await make_post(db, tenant, account)
    held: list[int] = []
    checked_out = checked_out_counter(db)

    async def update_seen_by_the_pool(_client: Client, _workflow_id: str) -> TargetState:
        held.append(checked_out())
        return TargetState(status=TargetStatus.CANCELLED)

    async with db.session() as session:
        targets = list((await session.exec(select(Target).where(Target.post_id == post.id))).all())
        assert checked_out() == 1  # the read above holds one, as before
        done, refused = await steer(
            temporal=None,  # type: ignore[arg-type]
            targets=targets,
            send=update_seen_by_the_pool,
        )
        assert refused == [] and set(done) == {t.id for t in targets}
        # The session reads again after, on a connection it takes anew.
        assert (await session.get(Target, targets[0].id)) is not None
    assert held == [0] * len(targets)
