"""Plans, for operators: `crier plans` and `crier tenants --plan`, keys limited to projects,
the admin API (/admin/v1), and what a plan allows seen from a tenant's API key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings, get_settings
from core.db import Database, make_sync_engine
from core.migrate import upgrade
from core.models import ApiKey, Plan, Project, Tenant
from core.status import Platform, TargetStatus
from tests.support.api import api_client, bearer
from tests.support.factories import TenantFixture, make_account, make_tenant
from tests.support.harness import Harness

runner = CliRunner()
M = TypeVar("M", bound=SQLModel)
ADMIN_TOKEN = "admin-" + "t" * 40
ADMIN = bearer(ADMIN_TOKEN)


# The operator's commands ---------------------------------------------------------------------


@pytest.fixture
def operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[Settings]:
    """The environment an operator's shell has: a database and the token keys."""
    monkeypatch.setenv("CRIER_ENV", "test")
    monkeypatch.setenv("CRIER_DATA_DIR", str(tmp_path / "crier"))
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)
    monkeypatch.setenv("CRIER_TOKEN_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings)
    yield settings
    get_settings.cache_clear()


def crier(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def refused(code: int, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def rows(settings: Settings, model: type[M]) -> list[M]:
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        found: list[M] = list(session.exec(select(model)).all())
    engine.dispose()
    return found


def a_plan(settings: Settings, plan_id: str) -> Plan:
    [plan] = [plan for plan in rows(settings, Plan) if plan.id == plan_id]
    return plan


def test_operators_create_list_update_and_delete_plans(operator: Settings) -> None:
    said = crier(
        "plans", "create", "--id", "agency", "--name", "Agency", "--allow-social-publishing",
        "--max-accounts", "3", "--max-posts-per-month", "100", "--platforms", "x, LinkedIn,x",
    )  # fmt: skip
    assert said.startswith("agency  Agency  publishing=on")
    plan = a_plan(operator, "agency")
    assert (plan.max_accounts, plan.max_posts_per_month) == (3, 100)
    assert plan.platforms == ["x", "linkedin"] and plan.allow_social_publishing
    listed = crier("plans", "list").splitlines()
    assert [line.split()[0] for line in listed] == ["agency", "free", "publishing"]
    assert "platforms=x,linkedin" in listed[0] and "tenants=0" in listed[0]
    assert "publishing=off" in listed[1] and "max_accounts=unlimited" in listed[1]

    # Only what is given changes; a limit is removed by its --no- option, platforms by `all`.
    crier("plans", "update", "agency", "--max-accounts", "5")
    assert a_plan(operator, "agency").max_posts_per_month == 100
    crier(
        "plans", "update", "agency", "--name", "Agency 2", "--no-max-accounts",
        "--no-max-posts-per-month", "--platforms", "all", "--no-allow-social-publishing",
    )  # fmt: skip
    plan = a_plan(operator, "agency")
    assert plan.name == "Agency 2" and not plan.allow_social_publishing
    assert (plan.max_accounts, plan.max_posts_per_month, plan.platforms) == (None, None, None)
    assert plan.updated_at > plan.created_at

    assert crier("plans", "delete", "agency") == "deleted the plan agency"
    assert {plan.id for plan in rows(operator, Plan)} == {"free", "publishing"}


def test_plan_commands_name_every_problem_and_change_nothing(operator: Settings) -> None:
    said = refused(
        2, "plans", "create", "--id", "Big Plan", "--name", "Big", "--max-accounts", "-1",
        "--max-posts-per-month", "-2", "--platforms", "x,myspace,friendster",
    )  # fmt: skip
    for expected in ("Big Plan", "--max-accounts", "--max-posts-per-month", "myspace, friendster"):
        assert expected in said
    assert {plan.id for plan in rows(operator, Plan)} == {"free", "publishing"}

    both = refused(2, "plans", "update", "free", "--max-accounts", "2", "--no-max-accounts")
    assert "not both" in both
    unknown = refused(1, "plans", "update", "gold", "--max-accounts", "2")
    assert "no plan 'gold'" in unknown and "free, publishing" in unknown
    exists = refused(1, "plans", "create", "--id", "free", "--name", "Free again")
    assert "exists" in exists
    assert a_plan(operator, "free").max_accounts is None


def test_a_plan_tenants_are_on_is_not_deleted(operator: Settings) -> None:
    crier("plans", "create", "--id", "agency", "--name", "Agency")
    tenant_id = crier("tenants", "create", "--name", "Acme", "--plan", "agency")
    crier("tenants", "create", "--name", "Beta", "--plan", "agency")
    said = refused(1, "plans", "delete", "agency")
    assert "2 tenant(s) are on the plan 'agency'" in said and "--plan" in said
    assert "tenants=2" in crier("plans", "list")
    # The plan new tenants get stays, even with nobody on it.
    assert "cannot go" in refused(1, "plans", "delete", "free")
    crier("tenants", "update", tenant_id, "--plan", "free")
    assert "1 tenant(s)" in refused(1, "plans", "delete", "agency")


def test_tenants_are_put_on_plans_by_name(operator: Settings) -> None:
    free_id = crier("tenants", "create", "--name", "Acme")
    paying_id = crier("tenants", "create", "--name", "Beta", "--plan", "publishing")
    listed = crier("tenants", "list")
    assert (
        f"{free_id}  Acme  plan=free" in listed and f"{paying_id}  Beta  plan=publishing" in listed
    )

    unknown = refused(2, "tenants", "create", "--name", "Gamma", "--plan", "gold")
    assert "no plan 'gold'" in unknown and "free, publishing" in unknown
    assert len(rows(operator, Tenant)) == 2
    moved = refused(2, "tenants", "update", free_id, "--plan", "gold", "--requires-approval")
    assert "free, publishing" in moved
    said = crier("tenants", "update", free_id, "--plan", "publishing", "--allow-self-approval")
    assert said == (f"{free_id}: plan=publishing requires_approval=False allow_self_approval=True")
    assert {t.plan_id for t in rows(operator, Tenant)} == {"publishing"}
    # The flag plans replaced is gone, not silently ignored.
    assert refused(2, "tenants", "update", free_id, "--allow-social-publishing")


def test_a_key_is_limited_to_projects_of_its_tenant_and_mode(operator: Settings) -> None:
    acme = crier("tenants", "create", "--name", "Acme")
    beta = crier("tenants", "create", "--name", "Beta")
    live = Project(tenant_id=acme, is_test=False, name="Client A")
    live_2 = Project(tenant_id=acme, is_test=False, name="Client B")
    sandbox = Project(tenant_id=acme, is_test=True, name="Client A")
    theirs = Project(tenant_id=beta, is_test=False, name="Their client")
    engine = make_sync_engine(operator)
    with Session(engine) as session:
        session.add_all([live, live_2, sandbox, theirs])
        session.commit()
        ids = live.id, live_2.id, sandbox.id, theirs.id
    engine.dispose()
    live_id, live_2_id, sandbox_id, theirs_id = ids

    said = refused(
        2, "keys", "create", "--tenant", acme, "--scopes", "social.view",
        "--project", sandbox_id, "--project", theirs_id, "--project", "nope", "--project", live_id,
    )  # fmt: skip
    assert f"--project {sandbox_id}: a sandbox project, and this is a live key" in said
    assert f"--project {theirs_id}: the tenant has no such project" in said
    assert "--project nope: the tenant has no such project" in said and live_id not in said
    assert rows(operator, ApiKey) == []

    crier(
        "keys", "create", "--tenant", acme, "--scopes", "social.view",
        "--project", live_id, "--project", live_2_id,
    )  # fmt: skip
    crier("keys", "create", "--tenant", acme, "--scopes", "social.view", "--test")
    limited, every = sorted(rows(operator, ApiKey), key=lambda key: key.is_test)
    assert limited.project_ids == [live_id, live_2_id] and every.project_ids == []
    assert f"projects={live_id},{live_2_id}" in crier("keys", "list", "--tenant", acme)


# The admin API -------------------------------------------------------------------------------


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)})


@pytest.fixture
async def admin(admin_settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the admin token set; no Temporal (no admin or plan check needs it)."""
    async with api_client(admin_settings, None) as client:
        yield client


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()["error"]
    return found


async def test_the_admin_api_is_not_there_unless_a_token_is_configured(
    settings: Settings, db: Database
) -> None:
    assert settings.admin_token is None
    async with api_client(settings, None) as api:
        nowhere = await api.get("/admin/v1/no-such-thing")
        for method, path in (
            ("GET", "/admin/v1/plans"),
            ("POST", "/admin/v1/plans"),
            ("DELETE", "/admin/v1/plans/free"),
            ("PATCH", "/admin/v1/tenants/anyone"),
        ):
            answer = await api.request(method, path, json={"id": "x"}, headers=ADMIN)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json() == nowhere.json()  # the same as a path that does not exist
    # An empty value (an env file's `CRIER_ADMIN_TOKEN=`) is no token either.
    assert Settings(env="test", admin_token="").admin_token is None
    with pytest.raises(ValidationError, match="CRIER_ADMIN_TOKEN is shorter than 32"):
        Settings(env="test", admin_token="short")


async def test_the_admin_api_lets_in_only_its_token(admin: httpx.AsyncClient, db: Database) -> None:
    tenant = await make_tenant(db)
    for headers in (
        httpx.Headers(),
        httpx.Headers(bearer("wrong")),
        httpx.Headers(bearer(ADMIN_TOKEN + "x")),
        httpx.Headers(bearer(tenant.api_key)),  # a tenant's key, every scope: not an operator
        httpx.Headers({"Authorization": f"Basic {ADMIN_TOKEN}"}),
        # Not ASCII (a header is latin-1 on the wire): refused like any other, not a 500.
        httpx.Headers([(b"Authorization", ("Bearer " + "é" * 10).encode("latin-1"))]),
    ):
        answer = await admin.get("/admin/v1/plans", headers=headers)
        assert error(answer, 401)["code"] == "unauthenticated", headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert ADMIN_TOKEN not in answer.text
    # Refused before the body is read: a stranger learns nothing about what it would take.
    bad = await admin.post("/admin/v1/plans", json={"id": "NO"}, headers=bearer("wrong"))
    assert bad.status_code == 401
    assert {p["id"] for p in data(await admin.get("/admin/v1/plans", headers=ADMIN))} == {
        "free",
        "publishing",
    }


async def test_operators_manage_plans_over_the_admin_api(
    admin: httpx.AsyncClient, db: Database
) -> None:
    made = data(
        await admin.post(
            "/admin/v1/plans",
            json={
                "id": "agency",
                "name": "Agency",
                "allow_social_publishing": True,
                "max_accounts": 10,
                "platforms": ["x", "twitter", "linkedin"],
            },
            headers=ADMIN,
        ),
        201,
    )
    assert made["platforms"] == ["x", "linkedin"] and made["max_posts_per_month"] is None
    assert made["tenants"] == 0 and made["allow_social_publishing"] is True
    again = await admin.post(
        "/admin/v1/plans", json={"id": "agency", "name": "Other"}, headers=ADMIN
    )
    assert "agency" in error(again, 409)["message"]

    invalid = error(
        await admin.post(
            "/admin/v1/plans",
            json={
                "id": "Not A Slug",
                "name": "",
                "max_accounts": -1,
                "platforms": [],
                "max_tenants": 3,
            },
            headers=ADMIN,
        ),
        422,
    )
    named = {detail["loc"][-1] for detail in invalid["details"]}
    assert named == {"id", "name", "max_accounts", "platforms", "max_tenants"}

    listed = await admin.get("/admin/v1/plans", headers=ADMIN)
    assert [plan["id"] for plan in data(listed)] == ["agency", "free", "publishing"]
    assert data(await admin.get("/admin/v1/plans/agency", headers=ADMIN)) == made

    # Only the fields sent change; null removes a limit, never a name or the publishing flag.
    changed = data(
        await admin.patch(
            "/admin/v1/plans/agency",
            json={"max_accounts": None, "max_posts_per_month": 50, "platforms": None},
            headers=ADMIN,
        )
    )
    assert (changed["max_accounts"], changed["max_posts_per_month"]) == (None, 50)
    assert changed["platforms"] is None and changed["name"] == "Agency"
    assert datetime.fromisoformat(changed["updated_at"]) > datetime.fromisoformat(
        made["updated_at"]
    )
    bad_patch = error(
        await admin.patch(
            "/admin/v1/plans/agency",
            json={"name": None, "allow_social_publishing": None, "platforms": ["myspace"]},
            headers=ADMIN,
        ),
        422,
    )
    assert {d["loc"][1] for d in bad_patch["details"]} == {
        "name",
        "allow_social_publishing",
        "platforms",
    }
    assert error(await admin.patch("/admin/v1/plans/gold", json={}, headers=ADMIN), 404)

    tenant = await make_tenant(db)
    await put_on(admin, tenant, "agency")
    busy = error(await admin.delete("/admin/v1/plans/agency", headers=ADMIN), 409)
    assert "1 tenant(s) are on the plan 'agency'" in busy["message"]
    assert (
        "new tenants"
        in error(await admin.delete("/admin/v1/plans/free", headers=ADMIN), 409)["message"]
    )
    await put_on(admin, tenant, "free")
    gone = await admin.delete("/admin/v1/plans/agency", headers=ADMIN)
    assert gone.status_code == 204, gone.text
    assert error(await admin.get("/admin/v1/plans/agency", headers=ADMIN), 404)


async def test_operators_move_a_tenant_and_set_its_approval_over_the_admin_api(
    admin: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant(db, allow_social_publishing=False)
    path = f"/admin/v1/tenants/{tenant.tenant_id}"
    shown = data(await admin.get(path, headers=ADMIN))
    assert shown["plan"]["id"] == "free" and shown["requires_approval"] is False
    assert tenant.api_key not in str(shown)  # keys (even hashed) are not the admin API's

    unknown = error(await admin.patch(path, json={"plan_id": "gold"}, headers=ADMIN), 422)
    [detail] = unknown["details"]
    assert detail["loc"] == ["body", "plan_id"] and "free, publishing" in detail["msg"]
    invalid = error(
        await admin.patch(
            path, json={"requires_approval": "maybe", "allow_self_approval": None}, headers=ADMIN
        ),
        422,
    )
    assert {d["loc"][1] for d in invalid["details"]} == {
        "requires_approval",
        "allow_self_approval",
    }
    assert data(await admin.get(path, headers=ADMIN)) == shown  # nothing changed

    moved = data(
        await admin.patch(
            path, json={"plan_id": "publishing", "requires_approval": True}, headers=ADMIN
        )
    )
    assert moved["plan"]["id"] == "publishing" and moved["requires_approval"] is True
    assert moved["allow_self_approval"] is False
    assert error(await admin.get("/admin/v1/tenants/nobody", headers=ADMIN), 404)


# What a plan allows, as a tenant's key sees it --------------------------------------------------


async def new_plan(admin: httpx.AsyncClient, **fields: object) -> None:
    body = {"name": str(fields["id"]).title(), **fields}
    data(await admin.post("/admin/v1/plans", json=body, headers=ADMIN), 201)


async def put_on(admin: httpx.AsyncClient, tenant: TenantFixture, plan_id: str) -> None:
    path = f"/admin/v1/tenants/{tenant.tenant_id}"
    data(await admin.patch(path, json={"plan_id": plan_id}, headers=ADMIN))


async def create_post(api: httpx.AsyncClient, key: str, account_id: str) -> httpx.Response:
    return await api.post(
        "/v1/posts",
        json={"body": "hello", "targets": [{"account_id": account_id}]},
        headers=bearer(key),
    )


async def test_the_plan_a_tenant_is_moved_to_decides_whether_it_publishes(
    harness: Harness, admin_settings: Settings
) -> None:
    tenant = await make_tenant(harness.db, allow_social_publishing=False)
    account = await make_account(
        harness.db, harness.settings, tenant, Platform.X, "1600000000000000001"
    )
    async with api_client(admin_settings, harness.env.client) as api:
        await new_plan(api, id="starter", allow_social_publishing=False)
        await put_on(api, tenant, "starter")
        post = data(await create_post(api, tenant.api_key, account.id), 201)
        publish = f"/v1/posts/{post['id']}/publish"
        refusal = error(await api.post(publish, json={}, headers=bearer(tenant.api_key)), 403)
        assert refusal["code"] == "publishing_not_enabled"
        assert "'Starter' (starter)" in refusal["message"] and "publishing" in refusal["message"]

        await put_on(api, tenant, "publishing")
        allowed = await api.post(publish, json={}, headers=bearer(tenant.api_key))
        assert allowed.status_code == 202, allowed.text
    await harness.target_becomes(post["targets"][0]["id"], TargetStatus.PUBLISHED)


async def test_a_plans_accounts_limit_refuses_the_next_connect(
    admin: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    await new_plan(admin, id="solo", allow_social_publishing=True, max_accounts=1)
    await put_on(admin, tenant, "solo")
    first = await admin.post("/v1/accounts/x/connect", json={}, headers=bearer(tenant.api_key))
    assert first.status_code == 201, first.text  # none yet: the first may start
    await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    second = error(
        await admin.post("/v1/accounts/linkedin/connect", json={}, headers=bearer(tenant.api_key)),
        403,
    )
    assert second["code"] == "plan_limit"
    assert (
        "'Solo' (solo)" in second["message"] and "allows 1 connected accounts" in second["message"]
    )


async def test_a_plans_platforms_refuse_connecting_and_posting_elsewhere(
    admin: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    # Made before the plan narrowed: the posts' check is its own, not only the connect's.
    x = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    linkedin = await make_account(db, settings, tenant, Platform.LINKEDIN, "urn:li:person:a1")
    await new_plan(admin, id="x-only", allow_social_publishing=True, platforms=["x"])
    await put_on(admin, tenant, "x-only")

    connect = error(
        await admin.post("/v1/accounts/linkedin/connect", json={}, headers=bearer(tenant.api_key)),
        403,
    )
    assert connect["code"] == "plan_limit" and "does not include linkedin" in connect["message"]
    post = error(await create_post(admin, tenant.api_key, linkedin.id), 403)
    assert post["code"] == "plan_limit" and "'X-Only' (x-only)" in post["message"]
    assert "linkedin" in post["message"]
    data(await create_post(admin, tenant.api_key, x.id), 201)


async def test_a_plans_posts_per_month_refuses_the_next_post(
    admin: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_account(db, settings, tenant, Platform.X, "1600000000000000001")
    await new_plan(admin, id="trial", allow_social_publishing=True, max_posts_per_month=1)
    await put_on(admin, tenant, "trial")
    data(await create_post(admin, tenant.api_key, account.id), 201)
    refusal = error(await create_post(admin, tenant.api_key, account.id), 403)
    assert refusal["code"] == "plan_limit" and "'Trial' (trial)" in refusal["message"]
    assert "allows 1 posts a month and this month has 1" in refusal["message"]
    # Raising the limit over the admin API applies at once.
    data(
        await admin.patch(
            "/admin/v1/plans/trial", json={"max_posts_per_month": None}, headers=ADMIN
        )
    )
    data(await create_post(admin, tenant.api_key, account.id), 201)
