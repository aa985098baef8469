"""The sandbox's Graph stand-in over real HTTP: tokens, shapes and errors."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import httpx
import pytest

from sandbox import state
from sandbox.tokens import issue_token, verify_token
from tests.support.servers import RunningSandbox


def test_tokens_are_checked_by_signature_and_expiry() -> None:
    token = issue_token("s3cret", "facebook", "42", expires_at=int(time.time()) + 60)
    claims = verify_token("s3cret", token)
    assert claims is not None and (claims.platform, claims.subject) == ("facebook", "42")
    assert verify_token("other", token) is None
    assert verify_token("s3cret", token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    expired = issue_token("s3cret", "facebook", "42", expires_at=int(time.time()) - 1)
    assert verify_token("s3cret", expired) is None


@pytest.fixture
def page_token(sandbox: RunningSandbox) -> str:
    return issue_token(sandbox.secret, "facebook", "555")


async def test_feed_post_then_permalink(sandbox_http: httpx.AsyncClient, page_token: str) -> None:
    created = await sandbox_http.post(
        "/facebook/v23.0/555/feed", data={"message": "hello", "access_token": page_token}
    )
    assert created.status_code == 200
    post_id = created.json()["id"]
    assert post_id.startswith("555_")
    read = await sandbox_http.get(
        f"/facebook/v23.0/{post_id}",
        params={"fields": "permalink_url"},
        headers={"Authorization": f"OAuth {page_token}"},
    )
    assert read.json()["permalink_url"].endswith(f"/facebook/p/{post_id}")
    page = await sandbox_http.get(f"/facebook/p/{post_id}")
    assert page.status_code == 200 and "hello" in page.text


async def test_errors_have_graphs_shape(sandbox_http: httpx.AsyncClient, page_token: str) -> None:
    bad_token = await sandbox_http.post(
        "/facebook/v23.0/555/feed", json={"message": "x", "access_token": "sbx_bogus.sig"}
    )
    assert bad_token.status_code == 400
    error = bad_token.json()["error"]
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert {"message", "fbtrace_id"} <= error.keys()

    other_page = await sandbox_http.post(
        "/facebook/v23.0/556/feed", json={"message": "x", "access_token": page_token}
    )
    assert other_page.json()["error"]["code"] == 200

    await sandbox_http.post(
        "/facebook/v23.0/555/feed", json={"message": "same", "access_token": page_token}
    )
    duplicate = await sandbox_http.post(
        "/facebook/v23.0/555/feed", json={"message": "same", "access_token": page_token}
    )
    assert duplicate.json()["error"]["code"] == 506

    empty = await sandbox_http.post("/facebook/v23.0/555/feed", json={"access_token": page_token})
    assert empty.json()["error"]["code"] == 100


async def test_attached_media_must_be_this_pages_unattached_photos(
    sandbox_http: httpx.AsyncClient, page_token: str
) -> None:
    photo = await sandbox_http.post(
        "/facebook/v23.0/555/photos",
        json={"url": "https://img/1.jpg", "published": False, "access_token": page_token},
    )
    media = [{"media_fbid": photo.json()["id"]}]
    first = await sandbox_http.post(
        "/facebook/v23.0/555/feed",
        json={"message": "one", "attached_media": media, "access_token": page_token},
    )
    assert first.status_code == 200
    reused = await sandbox_http.post(
        "/facebook/v23.0/555/feed",
        json={"message": "two", "attached_media": media, "access_token": page_token},
    )
    assert reused.json()["error"]["code"] == 100
    posts = (await sandbox_http.get("/_control/posts", params={"account": "555"})).json()
    assert [p["media"] for p in posts["data"]] == [["https://img/1.jpg"]]


async def test_an_injected_fault_answers_the_next_n_calls(
    sandbox_http: httpx.AsyncClient, page_token: str
) -> None:
    await sandbox_http.post(
        "/_control/faults",
        json={"method": "POST", "path": "/feed$", "times": 2, "status": 503, "body": {"x": 1}},
    )
    statuses = [
        (
            await sandbox_http.post(
                "/facebook/v23.0/555/feed", json={"message": f"m{i}", "access_token": page_token}
            )
        ).status_code
        for i in range(3)
    ]
    assert statuses == [503, 503, 200]


async def test_accept_then_drop_creates_the_post_but_breaks_the_answer(
    sandbox_http: httpx.AsyncClient, page_token: str
) -> None:
    fault = {"method": "POST", "path": "/feed$", "accept_then_drop": True}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(httpx.RemoteProtocolError):
        await sandbox_http.post(
            "/facebook/v23.0/555/feed", json={"message": "lost answer", "access_token": page_token}
        )
    posts = (await sandbox_http.get("/_control/posts", params={"account": "555"})).json()["data"]
    assert [p["text"] for p in posts] == ["lost answer"]  # it went out all the same


async def test_accept_then_stall_creates_the_post_and_answers_too_late(
    sandbox_http: httpx.AsyncClient, page_token: str
) -> None:
    fault = {"method": "POST", "path": "/feed$", "accept_then_stall": True, "delay": 2}
    await sandbox_http.post("/_control/faults", json=fault)
    with pytest.raises(httpx.ReadTimeout):
        await sandbox_http.post(
            "/facebook/v23.0/555/feed",
            json={"message": "slow answer", "access_token": page_token},
            timeout=0.5,
        )
    posts = (await sandbox_http.get("/_control/posts", params={"account": "555"})).json()["data"]
    assert [p["text"] for p in posts] == ["slow answer"]


async def test_a_probable_fault_strikes_some_calls_and_spares_the_rest(
    sandbox_http: httpx.AsyncClient, page_token: str
) -> None:
    fault = {"path": "/feed$", "status": 503, "times": 1000, "probability": 0.5}
    await sandbox_http.post("/_control/faults", json=fault)
    statuses = [
        (
            await sandbox_http.post(
                "/facebook/v23.0/555/feed", json={"message": f"m{i}", "access_token": page_token}
            )
        ).status_code
        for i in range(60)
    ]
    # 60 draws at one half: all one way has odds of 2 in 10^18.
    assert statuses.count(503) > 0 and statuses.count(200) > 0


async def test_a_page_over_its_hourly_calls_is_throttled_like_graph(
    sandbox_http: httpx.AsyncClient, page_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import facebook

    monkeypatch.setattr(facebook, "CALLS_PER_HOUR", 2)
    answers = [
        await sandbox_http.post(
            "/facebook/v23.0/555/feed", json={"message": f"m{n}", "access_token": page_token}
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[2].json()["error"]["code"] == 32
    usage = json.loads(answers[2].headers["x-business-use-case-usage"])
    assert 59 <= usage["555"][0]["estimated_time_to_regain_access"] <= 61  # an hour, in minutes


def test_the_sandbox_state_imports_no_module_built_on_it() -> None:
    """sandbox/state.py is the data at the bottom: sandbox/oauth.py and the platform modules
    import it, so an import of any sandbox module from it would close a cycle."""
    tree = ast.parse(Path(state.__file__).read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    assert "dataclasses" in imported  # the walk reads the imports
    assert not {name for name in imported if name.split(".")[0] == "sandbox"}


async def _publish_twice(
    http: httpx.AsyncClient, secret: str, platform: str, api: str, edges: tuple[str, str, str]
) -> tuple[int, list[str], list[int]]:
    """Script a container that holds one status read, publish it too early, on time and
    again; answer the second publish's error code, the listed media types and the quota."""
    create, publish, limit = edges
    version, user = api.split("/")
    auth = {"Authorization": f"Bearer {issue_token(secret, platform, user)}"}
    script = {"statuses": ["IN_PROGRESS"]}
    (await http.post(f"/_control/{platform}/next-container", json=script)).raise_for_status()
    body = {"media_type": "VIDEO", "video_url": "https://cdn.example.org/reel.mp4"}
    base = f"/{platform}/{api}"
    container = (await http.post(f"{base}/{create}", data=body, headers=auth)).json()["id"]
    early = await http.post(f"{base}/{publish}", data={"creation_id": container}, headers=auth)
    assert early.json()["error"]["code"] == 9007  # IN_PROGRESS until a status read
    read = (await http.get(f"/{platform}/{version}/{container}", headers=auth)).json()
    assert "IN_PROGRESS" in (read.get("status_code"), read.get("status"))
    (await http.get(f"/{platform}/{version}/{container}", headers=auth)).raise_for_status()
    done = await http.post(f"{base}/{publish}", data={"creation_id": container}, headers=auth)
    assert done.status_code == 200
    again = await http.post(f"{base}/{publish}", data={"creation_id": container}, headers=auth)
    page = await http.get(f"{base}/{create}", params={"fields": "media_type"}, headers=auth)
    usage = (await http.get(f"{base}/{limit}", headers=auth)).json()["data"][0]
    return (
        again.json()["error"]["code"],
        [item["media_type"] for item in page.json()["data"]],
        [usage["quota_usage"], usage["config"]["quota_total"]],
    )


async def test_instagram_and_threads_share_one_container_machine_with_their_own_answers(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    """Both stand-ins hold and publish containers alike; what differs is data: the refusal
    of a second publish, the media type a video lists as, the daily quota."""
    apis = {
        "instagram": (
            "v23.0/17841400000000001",
            ("media", "media_publish", "content_publishing_limit"),
        ),
        "threads": ("v1.0/990000001", ("threads", "threads_publish", "threads_publishing_limit")),
    }
    answers = {
        platform: await _publish_twice(sandbox_http, sandbox.secret, platform, api, edges)
        for platform, (api, edges) in apis.items()
    }

    assert answers == {
        "instagram": (9007, ["VIDEO"], [1, 100]),  # a published container is not FINISHED
        "threads": (100, ["VIDEO"], [1, 250]),  # "already published as ..."
    }
