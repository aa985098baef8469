"""Seed 004's page, called as it is written: its curl examples, run against crier.

Each example below is the seed's curl command as printed on its page (seeds/004), kept verbatim
here so the test does not reach outside the repository. Only what cannot work on this machine
is replaced when the command is run: the host, the key (`sk_live_…` → this tenant's key), the
example account ids (12, 13) and post id, and the example media URL (no machine here reaches
the internet: the sandbox serves an image of its own).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.contracts.softsolz import SEED_STATUS, SEED_STATUSES
from api.main import create_app
from core.models import Account
from core.status import Platform, TargetStatus
from tests.support.factories import TenantFixture, add_key, make_account, make_tenant
from tests.support.harness import Harness

pytestmark = pytest.mark.timeout(180)

SEED_HOST = "https://app.softsolz.uk"
SEED_SCOPES = ("service.social.view", "service.social.manage", "service.social.publish")

LIST_ACCOUNTS = """curl https://app.softsolz.uk/api/v1/services/social/accounts \\
-H "Authorization: Bearer sk_live_…\""""
CREATE = """curl -X POST https://app.softsolz.uk/api/v1/services/social/posts \\
-H "Authorization: Bearer sk_live_…" -H "Content-Type: application/json" \\
-d '{ "body": "We just shipped a big update.",
"media": [ { "url": "https://cdn.example/launch.png", "alt": "Launch" } ],
"targets": [ { "account_id": 12 }, { "account_id": 13 } ] }'"""
PUBLISH_NOW = """curl -X POST https://app.softsolz.uk/api/v1/services/social/posts/{id}/publish \\
-H "Authorization: Bearer sk_live_…" -H "Content-Type: application/json" -d '{}'"""
SCHEDULE = """curl -X POST https://app.softsolz.uk/api/v1/services/social/posts/{id}/publish \\
-H "Authorization: Bearer sk_live_…" -H "Content-Type: application/json" \\
-d '{ "scheduled_for": "2026-06-10T09:00:00Z" }'"""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def parse(curl: str) -> Call:
    """A curl command line as a request: -X, -H and -d, as curl reads them."""
    words = shlex.split(curl.replace("\\\n", " "))
    assert words[0] == "curl"
    method, headers, body, url = "GET", {}, None, ""
    rest = iter(words[1:])
    for word in rest:
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(": ")
            headers[name] = value
        elif word == "-d":
            body = json.loads(next(rest))
            method = "POST" if method == "GET" else method
        else:
            url = word
    return Call(method, url.removeprefix(SEED_HOST), headers, body)


@dataclass
class Seed:
    """What the examples' placeholders stand for here."""

    key: str
    linkedin: Account
    instagram: Account
    image: str

    def run(self, api: httpx.AsyncClient, curl: str, **ids: str) -> Any:
        call = parse(curl)
        headers = {k: v.replace("sk_live_…", self.key) for k, v in call.headers.items()}
        body = json.dumps(call.body) if call.body is not None else None
        if body is not None:
            body = body.replace('"account_id": 12', f'"account_id": "{self.linkedin.id}"')
            body = body.replace('"account_id": 13', f'"account_id": "{self.instagram.id}"')
            body = body.replace("https://cdn.example/launch.png", self.image)
        path = call.path.format(**ids)
        return api.request(call.method, path, headers=headers, content=body)


@pytest.fixture
async def tenant(harness: Harness) -> TenantFixture:
    return await make_tenant(harness.db, scopes=SEED_SCOPES)


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(harness.settings, temporal=harness.env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


@pytest.fixture
async def seed(harness: Harness, tenant: TenantFixture) -> Seed:
    db, settings = harness.db, harness.settings
    return Seed(
        key=tenant.api_key,
        linkedin=await make_account(
            db, settings, tenant, Platform.LINKEDIN, "urn:li:organization:12"
        ),
        instagram=await make_account(db, settings, tenant, Platform.INSTAGRAM, "17841400000000013"),
        image=f"{settings.sandbox_url}/samples/image/1080x1080.jpg",
    )


async def test_the_seeds_calls_list_create_and_publish_as_its_page_shows(
    api: httpx.AsyncClient, harness: Harness, seed: Seed
) -> None:
    listed = await seed.run(api, LIST_ACCOUNTS)
    assert listed.status_code == 200, listed.text
    accounts = listed.json()["data"]["accounts"]
    assert {(a["id"], a["platform"], a["status"]) for a in accounts} == {
        (seed.linkedin.id, "linkedin", "active"),
        (seed.instagram.id, "instagram", "active"),
    }
    assert all(a["display_name"] for a in accounts)

    created = await seed.run(api, CREATE)
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    assert post["media"] == [{"url": seed.image, "alt": "Launch"}]
    assert [(t["status"], t["crier_status"]) for t in post["targets"]] == [("pending", "draft")] * 2

    published = await seed.run(api, PUBLISH_NOW, id=post["id"])
    assert published.status_code == 202, published.text
    for target in published.json()["data"]["targets"]:
        assert (await harness.result(target["workflow_id"])).status == "published"

    rows = await api.get(
        f"/api/v1/services/social/posts/{post['id']}/targets",
        headers={"Authorization": f"Bearer {seed.key}"},
    )
    assert rows.status_code == 200, rows.text
    assert [(r["status"], r["crier_status"]) for r in rows.json()["data"]] == [
        ("published", "published")
    ] * 2
    assert all(r["external_id"] and r["last_error"] is None for r in rows.json()["data"])
    [on_linkedin] = await harness.posts(Platform.LINKEDIN)
    assert on_linkedin["text"] == "We just shipped a big update."


async def test_the_seeds_schedule_example_is_refused_as_past_and_a_future_one_schedules(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    """The page's example time (2026-06-10) is past on this date: crier refuses it by name;
    the same call with a future time schedules."""
    post = (await seed.run(api, CREATE)).json()["data"]
    past = await seed.run(api, SCHEDULE, id=post["id"])
    assert past.status_code == 422
    assert "2026-06-10" in past.text

    future = SCHEDULE.replace("2026-06-10T09:00:00Z", "2099-06-10T09:00:00Z")
    scheduled = await seed.run(api, future, id=post["id"])
    assert scheduled.status_code == 202, scheduled.text
    data = scheduled.json()["data"]
    assert [t["status"] for t in data["targets"]] == ["pending", "pending"]
    assert [t["crier_status"] for t in data["targets"]] == ["scheduled", "scheduled"]


async def test_edit_list_and_delete_as_the_seed_describes(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    auth = {"Authorization": f"Bearer {seed.key}"}
    base = "/api/v1/services/social/posts"
    post = (await seed.run(api, CREATE)).json()["data"]

    # PATCH without expected_updated_at; a target's own text.
    edited = await api.patch(
        f"{base}/{post['id']}",
        headers=auth,
        json={
            "body": "We shipped.",
            "targets": [{"account_id": seed.linkedin.id, "override_body": "LinkedIn words"}],
        },
    )
    assert edited.status_code == 200, edited.text
    after = edited.json()["data"]
    assert after["body"] == "We shipped."
    assert [t["override_body"] for t in after["targets"]] == ["LinkedIn words", None]

    stale = await api.patch(
        f"{base}/{post['id']}",
        headers=auth,
        json={"expected_updated_at": post["updated_at"], "body": "late"},
    )
    assert stale.status_code == 409

    unknown = await api.patch(
        f"{base}/{post['id']}", headers=auth, json={"targets": [{"account_id": "nobody"}]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["loc"] == ["body", "targets", 0, "account_id"]

    listed = await api.get(
        base, headers=auth, params={"status": "pending", "search": "shipped", "limit": 10}
    )
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["data"]] == [post["id"]]
    assert listed.json()["meta"] == {"count": 1, "total": 1, "limit": 10, "offset": 0}
    none = await api.get(base, headers=auth, params={"status": "dead"})
    assert none.json()["data"] == []
    wrong = await api.get(base, headers=auth, params={"status": "scheduled"})
    assert wrong.status_code == 422  # crier's word, not one of the seed's five

    deleted = await api.delete(f"{base}/{post['id']}", headers=auth)
    assert deleted.status_code == 204
    assert (await api.get(f"{base}/{post['id']}", headers=auth)).status_code == 404


async def test_each_seed_scope_allows_only_its_own_calls(
    api: httpx.AsyncClient, harness: Harness, seed: Seed, tenant: TenantFixture
) -> None:
    viewer = await add_key(harness.db, tenant, name="viewer", scopes=("service.social.view",))
    headers = {"Authorization": f"Bearer {viewer.api_key}"}
    assert (await api.get("/api/v1/services/social/accounts", headers=headers)).status_code == 200
    refused = await api.post(
        "/api/v1/services/social/posts",
        headers=headers,
        json={"body": "x", "targets": [{"account_id": seed.linkedin.id}]},
    )
    assert refused.status_code == 403
    assert "social.manage" in refused.text


def test_the_seeds_target_words_cover_every_crier_word() -> None:
    assert set(TargetStatus) <= set(SEED_STATUS)
    assert set(SEED_STATUS.values()) == set(SEED_STATUSES)


async def test_browser_origins_are_refused_as_the_seed_says(
    api: httpx.AsyncClient, seed: Seed
) -> None:
    refused = await api.get(
        "/api/v1/services/social/accounts",
        headers={"Authorization": f"Bearer {seed.key}", "Origin": "https://app.example"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "browser_origin_refused"
