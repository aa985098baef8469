"""End to end over HTTP: `crier dev` as a subprocess (the real Temporal dev server, worker, API
and sandbox), driven the way a user would drive it with curl."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from core.config import Settings
from core.temporal import data_converter
from tests.support.databases import fresh_database
from tests.support.devstack import DevStack, StackPorts, dev_stack, wait_for

pytestmark = pytest.mark.e2e

KEY = "sk_test_e2e"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    data_dir = tmp_path_factory.mktemp("dev") / ".crier"
    with (
        fresh_database() as database_url,
        dev_stack(data_dir, StackPorts.free(), key=KEY, database_url=database_url) as running,
    ):
        yield running


def test_it_prints_every_url_and_is_ready(stack: DevStack) -> None:
    banner = "".join(stack.output)
    for url in (stack.api, stack.sandbox, stack.temporal, "Temporal UI", f"{stack.api}/ui", KEY):
        assert url in banner
    ready = httpx.get(f"{stack.api}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "temporal": "ok",
        "workflow_worker": "ok",
        "activity_worker": "ok",
        "fire_worker": "ok",
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


def test_a_reviewer_approves_on_the_pages_and_the_post_goes_out(stack: DevStack) -> None:
    """The caller uses the API; the reviewer only the pages, with plain forms (no script)."""
    with httpx.Client(base_url=stack.api, headers=AUTH, timeout=10) as api:
        created = api.post(
            "/v1/posts",
            json={
                "body": "Reviewed on the pages",
                "requires_approval": True,
                "targets": [{"account_id": _demo_account(api)}],
            },
        )
        post_id = created.json()["data"]["id"]
        assert api.post(f"/v1/posts/{post_id}/publish", json={}).status_code == 202

    def field(page: httpx.Response, name: str) -> str:
        return page.text.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]

    with httpx.Client(base_url=stack.api, timeout=10, follow_redirects=True) as browser:
        form = browser.get("/ui/sign-in")
        queue = browser.post(
            "/ui/sign-in",
            data={"api_key": KEY, "next": "/ui/queue", "csrf": field(form, "csrf")},
        )
        assert queue.url.path == "/ui/queue" and "Reviewed on the pages" in queue.text
        approved = browser.post(
            f"/ui/posts/{post_id}/approve",
            data={
                "csrf": field(queue, "csrf"),
                "back": "/ui/queue",
                "expected_updated_at": field(queue, "expected_updated_at"),
            },
        )
        assert "Approved." in approved.text
        wait_for(
            lambda: (
                'Post <span class="status"><span class="dot published"'
                in browser.get(f"/ui/posts/{post_id}").text
            ),
            timeout=30,
            what="the post page to show it published",
        )
    posts = httpx.get(f"{stack.sandbox}/_control/posts").json()["data"]
    assert [p["text"] for p in posts].count("Reviewed on the pages") == 1


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
        target = wait_for(
            lambda: (t := _target(api, post_id))["status"] == "published" and t,
            timeout=30,
            what="the scheduled target to be published",
        )
    published_at = datetime.fromisoformat(target["published_at"])
    assert published_at >= due
    # Waiting for its time, seen from the platform's side: nothing reached it any sooner.
    received = httpx.get(f"{stack.sandbox}/_control/posts").json()["data"]
    [sent] = [p for p in received if p["id"] == target["external_id"]]
    assert sent["received_at"] >= due.timestamp()
    print(f"\nscheduled post published {(published_at - due).total_seconds() * 1000:.0f} ms late")


async def test_operators_find_runs_by_search_attributes(stack: DevStack) -> None:
    post_id, _, _ = await asyncio.to_thread(
        publish_now_and_wait, stack, "Findable in the Temporal UI"
    )
    # The stack encrypts payloads; its development key is in its data directory.
    converter = data_converter(Settings(env="test", data_dir=stack.data_dir))
    client = await Client.connect(stack.temporal, data_converter=converter)
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


def test_the_temporal_ui_decodes_payloads_through_the_api(stack: DevStack) -> None:
    settings = httpx.get(f"{stack.ui}/api/v1/settings", timeout=10).json()
    assert settings["Codec"]["Endpoint"] == f"{stack.api}/codec"
    preflight = httpx.options(
        f"{stack.api}/codec/decode",
        headers={"Origin": stack.ui, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["access-control-allow-origin"] == stack.ui


def test_sigterm_stops_every_child(stack: DevStack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0

    def port_closed(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    wait_for(lambda: all(port_closed(p) for p in stack.ports), timeout=10, what="ports to close")
