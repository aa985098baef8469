"""Seed 003's Facebook default: a Facebook target that asks for no mode is an unpublished Page
post unless its project opted in to auto-publishing; asking for `publish` still publishes; other
platforms are untouched. Through the API, the real worker and the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.status import Platform
from tests.support.api import api_client, bearer
from tests.support.factories import make_account, make_tenant
from tests.support.harness import Harness
from tests.support.waiting import eventually


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(harness.settings, harness.env.client) as client:
        yield client


async def test_facebook_targets_are_drafts_until_the_project_opts_in(
    api: httpx.AsyncClient, harness: Harness
) -> None:
    tenant = await make_tenant(harness.db, facebook_auto_publish=False)
    key = bearer(tenant.api_key)
    page = await make_account(
        harness.db, harness.settings, tenant, Platform.FACEBOOK, "200000000000031"
    )
    other_page = await make_account(
        harness.db, harness.settings, tenant, Platform.FACEBOOK, "200000000000032"
    )
    x = await make_account(harness.db, harness.settings, tenant, Platform.X, "1600000000000000031")
    created = await api.post(
        "/v1/posts",
        json={
            "body": "Weekend menu",
            "targets": [
                {"account_id": page.id},
                {"account_id": other_page.id, "mode": "publish"},
                {"account_id": x.id},
            ],
        },
        headers=key,
    )
    assert created.status_code == 201, created.text
    post = created.json()["data"]
    modes = {t["account_id"]: t["mode"] for t in post["targets"]}
    assert modes == {page.id: "draft", other_page.id: "publish", x.id: "publish"}

    published = await api.post(f"/v1/posts/{post['id']}/publish", json={}, headers=key)
    assert published.status_code == 202, published.text

    async def settled() -> dict[str, str] | None:
        answer = await api.get(f"/v1/posts/{post['id']}", headers=key)
        ends = {t["account_id"]: t["status"] for t in answer.json()["data"]["targets"]}
        return ends if all(s in ("drafted", "published") for s in ends.values()) else None

    ends = await eventually(settled, what="the post to settle")
    assert ends == {page.id: "drafted", other_page.id: "published", x.id: "published"}
    drafts = await harness.sandbox.get("/_control/posts", params={"platform": "facebook"})
    seen = {p["account"]: p for p in drafts.json()["data"]}
    assert seen["200000000000031"]["published"] is False  # an unpublished Page post
    assert seen["200000000000032"]["published"] is True

    # The project opts in: Facebook targets that ask for nothing publish.
    projects = (await api.get("/v1/projects", headers=key)).json()["data"]
    [default] = [p for p in projects if p["is_default"]]
    assert default["facebook_auto_publish"] is False
    opted = await api.patch(
        f"/v1/projects/{default['id']}", json={"facebook_auto_publish": True}, headers=key
    )
    assert opted.status_code == 200 and opted.json()["data"]["facebook_auto_publish"] is True
    again = await api.post(
        "/v1/posts",
        json={"body": "Sunday brunch", "targets": [{"account_id": page.id}]},
        headers=key,
    )
    assert [t["mode"] for t in again.json()["data"]["targets"]] == ["publish"]
