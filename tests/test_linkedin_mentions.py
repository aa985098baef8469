"""LinkedIn mentions: `options.mentions` turns each `@name` of the text into little text's
mention element, through the sandbox's Posts API over real HTTP; a URN LinkedIn would not take
is refused by the API (422 naming it), and by the sandbox as by LinkedIn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.config import Settings
from core.db import Database
from core.status import Platform
from providers.base import Credentials, PostContent, Preparation
from providers.errors import ContentError
from providers.linkedin import LinkedInProvider
from providers.linkedin_mentions import mention_problems
from tests.support import reconcile
from tests.support.api import bearer
from tests.support.api_fixtures import api_fixture, tenant_fixture
from tests.support.factories import TenantFixture, make_account
from tests.support.servers import RunningSandbox

ORG = "urn:li:organization:101"
PERSON = "urn:li:person:abc"
BAKERY = {"name": "Sandbox Bakery", "urn": "urn:li:organization:103"}
JANE = {"name": "Jane Doe", "urn": "urn:li:person:Xy-9_z"}

api = api_fixture()
tenant = tenant_fixture()


def account(sandbox: RunningSandbox, author: str) -> Credentials:
    return reconcile.credentials(sandbox, Platform.LINKEDIN, author)


provider = reconcile.provider_fixture(LinkedInProvider, "linkedin")


async def posted(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return await reconcile.sandbox_posts(sandbox_http, Platform.LINKEDIN)


async def test_an_organization_and_a_person_are_mentioned_by_name(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    text = "Thanks @Sandbox Bakery (and @Jane Doe) #bread, not @Sandbox Bakeryshop"
    content = PostContent(text=text, options={"mentions": [BAKERY, JANE]})
    assert mention_problems(text, content.options) == []

    published = await provider.publish(account(sandbox, ORG), content)

    # The sandbox reads little text as LinkedIn does: it would cut the text at the first
    # unescaped "(" or "#", so the whole text arriving shows the rest was escaped.
    [post] = await posted(sandbox_http)
    assert post["text"] == (
        "Thanks @[Sandbox Bakery](urn:li:organization:103) (and @[Jane Doe](urn:li:person:Xy-9_z))"
        " #bread, not @Sandbox Bakeryshop"
    )
    # Read back as LinkedIn answers it, the post is found again by its commentary.
    since = datetime.now(UTC) - timedelta(hours=1)
    found = await provider.find_published(
        account(sandbox, ORG), content, Preparation(), since=since
    )
    assert found is not None and found.external_id == published.external_id


async def test_a_member_mentions_an_organization_in_little_text_as_written(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    text = "Visiting @[Sandbox Bakery](urn:li:organization:103) today_"
    await provider.publish(account(sandbox, PERSON), PostContent(text=text))
    [post] = await posted(sandbox_http)
    assert (post["account"], post["text"]) == (PERSON, text)


async def test_a_mention_of_no_organization_or_member_is_refused_by_linkedin(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient, provider: LinkedInProvider
) -> None:
    text = "Hello @[Acme](urn:li:organization:acme)"
    with pytest.raises(ContentError) as refused:
        await provider.publish(account(sandbox, ORG), PostContent(text=text))
    assert refused.value.http_status == 422
    assert "urn:li:organization:acme" in refused.value.message
    assert await posted(sandbox_http) == []


def test_every_mention_problem_is_named_where_it_is() -> None:
    text = "Hi @Acme and @[Old](urn:li:company:9) and @Acme Corp"
    options = {
        "mentions": [
            {"name": "Acme", "urn": "urn:li:company:5"},
            {"name": "Acme Corp", "urn": "urn:li:organization:7"},
            {"name": "Nobody", "urn": "urn:li:person:n1"},
            {"name": "Bad (name)", "urn": "urn:li:person:n2"},
            {"name": "Acme", "urn": "urn:li:organization:8"},
            {"urn": "urn:li:person:n3"},
        ]
    }
    problems = mention_problems(text, options)
    assert problems == [
        (
            ("text",),
            "@[Old](urn:li:company:9) names 'urn:li:company:9', not "
            "urn:li:organization:<number> or urn:li:person:<id>",
        ),
        (
            ("mentions", 0, "urn"),
            "'urn:li:company:5' is not urn:li:organization:<number> or urn:li:person:<id>",
        ),
        (("mentions", 3, "name"), "'Bad (name)' has a bracket, backslash or line break"),
        (("mentions", 4, "name"), "'Acme' is named twice"),
        (("mentions", 5), 'must be an object with exactly "name" and "urn"'),
        (("mentions", 2), "the text has no @Nobody to mention"),
    ]
    assert mention_problems("x", {"mentions": "Acme"}) == [
        (("mentions",), 'must be a list of {"name", "urn"} objects')
    ]


async def test_the_api_refuses_a_bad_urn_naming_it(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    page = await make_account(db, settings, tenant, Platform.LINKEDIN, ORG)

    async def create(text: str, mentions: list[dict[str, str]]) -> httpx.Response:
        target = {"account_id": page.id, "options": {"mentions": mentions}}
        body = {"body": text, "targets": [target]}
        return await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))

    response = await create("Thanks @Acme", [{"name": "Acme", "urn": "urn:li:company:5"}, JANE])

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    where: list[str | int] = ["body", "targets", 0, "options", "mentions"]
    # One message at the URN, naming it.
    assert [d["msg"] for d in details if d["loc"] == [*where, 0, "urn"]] == [
        "linkedin: 'urn:li:company:5' is not urn:li:organization:<number> or urn:li:person:<id>"
    ]
    assert "no @Jane Doe" in details_msg(details, [*where, 1])

    acme = {"name": "Acme", "urn": "urn:li:organization:5"}
    response = await create("Thanks @Acme and @Jane Doe", [acme, JANE])
    assert response.status_code == 201, response.text

    # An edit of the text must still say each name.
    post = response.json()["data"]
    edit = {"body": "Thanks @Acme", "expected_updated_at": post["updated_at"]}
    edited = await api.patch(f"/v1/posts/{post['id']}", json=edit, headers=bearer(tenant.api_key))
    assert edited.status_code == 422, edited.text
    assert "linkedin: the text has no @Jane Doe to mention" in edited.text


def details_msg(details: list[dict[str, Any]], loc: list[str | int]) -> str:
    return "; ".join(d["msg"] for d in details if d["loc"] == loc)
