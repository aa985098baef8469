"""End to end over HTTP: `crier dev` as a subprocess (the real Temporal dev server, worker, API
and sandbox), driven the way a user would drive it with curl."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

KEY = "sk_test_e2e"
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    api: str
    sandbox: str
    temporal: str
    ports: list[int]
    output: list[str] = field(default_factory=list)


def wait_for(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    api_port, sandbox_port, temporal_port, ui_port = (free_port() for _ in range(4))
    env = {
        **os.environ,
        "CRIER_DATA_DIR": str(tmp_path_factory.mktemp("dev") / ".crier"),
        "CRIER_API_PORT": str(api_port),
        "CRIER_SANDBOX_PORT": str(sandbox_port),
        "CRIER_TEMPORAL_PORT": str(temporal_port),
        "CRIER_TEMPORAL_UI_PORT": str(ui_port),
        "CRIER_DEV_API_KEY": KEY,
    }
    env.pop("CRIER_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev"],
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = DevStack(
        process=process,
        api=f"http://127.0.0.1:{api_port}",
        sandbox=f"http://127.0.0.1:{sandbox_port}",
        temporal=f"127.0.0.1:{temporal_port}",
        ports=[api_port, sandbox_port, temporal_port, ui_port],
    )

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.output.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        wait_for(
            lambda: (
                any("crier is running" in line for line in running.output)
                or process.poll() is not None
            ),
            timeout=120,
            what="`crier dev` to come up",
        )
        assert process.poll() is None, "".join(running.output)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_it_prints_every_url_and_is_ready(stack: DevStack) -> None:
    banner = "".join(stack.output)
    for url in (stack.api, stack.sandbox, stack.temporal, "Temporal UI", KEY):
        assert url in banner
    ready = httpx.get(f"{stack.api}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "temporal": "ok",
        "workflow_worker": "ok",
        "activity_worker": "ok",
    }


def _demo_account(api: httpx.Client) -> str:
    accounts = api.get("/v1/accounts").json()["data"]
    assert len(accounts) == 10  # one sandbox account per platform
    [account] = [a for a in accounts if a["platform"] == "facebook"]
    assert account["status"] == "active"
    account_id: str = account["id"]
    return account_id


def _create_post(api: httpx.Client, body: str) -> str:
    created = api.post(
        "/v1/posts", json={"body": body, "targets": [{"account_id": _demo_account(api)}]}
    )
    assert created.status_code == 201, created.text
    post_id: str = created.json()["data"]["id"]
    return post_id


def _target(api: httpx.Client, post_id: str) -> dict[str, Any]:
    [target] = api.get(f"/v1/posts/{post_id}/targets").json()["data"]
    return dict(target)


def publish_now_and_wait(stack: DevStack, body: str) -> tuple[str, dict[str, Any], float]:
    """Create a post for the demo Page, publish it now, wait until published: (id, target, s)."""
    with httpx.Client(base_url=stack.api, headers=AUTH, timeout=10) as api:
        post_id = _create_post(api, body)
        started = time.monotonic()
        response = api.post(f"/v1/posts/{post_id}/publish", json={})
        assert response.status_code == 202, response.text
        target = wait_for(
            lambda: (t := _target(api, post_id))["status"] == "published" and t,
            timeout=30,
            what="the target to be published",
        )
        return post_id, target, time.monotonic() - started


def test_publish_now_reaches_the_sandbox_page_once(stack: DevStack) -> None:
    _, target, elapsed = publish_now_and_wait(stack, "Hello from the end-to-end test")
    print(f"\npublish now → published in {elapsed * 1000:.0f} ms (measured over HTTP)")

    posts = httpx.get(f"{stack.sandbox}/_control/posts").json()["data"]
    mine = [p for p in posts if p["text"] == "Hello from the end-to-end test"]
    assert len(mine) == 1
    assert target["external_id"] == mine[0]["id"]
    assert target["url"] == mine[0]["url"]
    assert httpx.get(target["url"]).status_code == 200  # the sandbox permalink opens


def test_one_post_reaches_all_ten_sandbox_platforms(stack: DevStack) -> None:
    image = f"{stack.sandbox}/samples/image/1080x1080.jpg"
    video = f"{stack.sandbox}/samples/video/launch.mp4"
    with httpx.Client(base_url=stack.api, headers=AUTH, timeout=30) as api:
        accounts = api.get("/v1/accounts").json()["data"]
        targets = [
            {"account_id": a["id"], "override_media_urls": [video]}
            if a["platform"] in ("tiktok", "youtube")
            else {"account_id": a["id"]}
            for a in accounts
        ]
        created = api.post(
            "/v1/posts",
            json={"body": "Everywhere at once", "media_urls": [image], "targets": targets},
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["data"]["id"]
        started = time.monotonic()
        assert api.post(f"/v1/posts/{post_id}/publish", json={}).status_code == 202

        def all_done() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = api.get(f"/v1/posts/{post_id}/targets").json()["data"]
            return found if all(t["status"] == "published" for t in found) else None

        published = wait_for(all_done, timeout=60, what="all ten targets to be published")
        elapsed = time.monotonic() - started
    assert sorted(t["platform"] for t in published) == sorted(
        [
            "facebook",
            "instagram",
            "linkedin",
            "x",
            "google_business",
            "threads",
            "bluesky",
            "pinterest",
            "tiktok",
            "youtube",
        ]
    )
    received = httpx.get(f"{stack.sandbox}/_control/posts").json()["data"]
    for target in published:
        assert target["url"], target
        [match] = [p for p in received if p["id"] == target["external_id"]]
        assert match["platform"] == target["platform"]
    print(f"\nten platforms published in {elapsed * 1000:.0f} ms (measured over HTTP)")


def test_a_scheduled_post_waits_for_its_time(stack: DevStack) -> None:
    with httpx.Client(base_url=stack.api, headers=AUTH, timeout=10) as api:
        post_id = _create_post(api, "Scheduled end-to-end post")
        due = datetime.now(UTC) + timedelta(seconds=3)
        response = api.post(f"/v1/posts/{post_id}/publish", json={"scheduled_for": due.isoformat()})
        assert response.status_code == 202, response.text
        assert _target(api, post_id)["status"] == "scheduled"
        time.sleep(1)
        assert _target(api, post_id)["status"] == "scheduled"
        target = wait_for(
            lambda: (t := _target(api, post_id))["status"] == "published" and t,
            timeout=30,
            what="the scheduled target to be published",
        )
    published_at = datetime.fromisoformat(target["published_at"])
    assert published_at >= due
    print(f"\nscheduled post published {(published_at - due).total_seconds() * 1000:.0f} ms late")


async def test_operators_find_runs_by_search_attributes(stack: DevStack) -> None:
    post_id, _, _ = await asyncio.to_thread(
        publish_now_and_wait, stack, "Findable in the Temporal UI"
    )
    client = await Client.connect(stack.temporal, data_converter=pydantic_data_converter)
    query = (
        f'CrierPostId = "{post_id}" AND CrierStatus = "published" AND CrierPlatform = "facebook"'
    )
    found: list[Any] = []
    deadline = time.monotonic() + 15  # visibility trails writes by about a second
    while not found and time.monotonic() < deadline:
        found = [w async for w in client.list_workflows(query)]
    assert len(found) == 1
    assert found[0].workflow_type == "PublishTargetWorkflow"
    description = await client.get_workflow_handle(found[0].id).describe()
    summary = await description.static_summary()
    assert summary is not None and post_id in summary and "Demo Page" in summary


def test_sigterm_stops_every_child(stack: DevStack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0

    def port_closed(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    wait_for(lambda: all(port_closed(p) for p in stack.ports), timeout=10, what="ports to close")
