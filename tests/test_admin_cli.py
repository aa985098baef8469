"""The operators' commands, run as an operator would: tenants, API keys, key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings, get_settings
from core.db import make_sync_engine, utcnow
from core.migrate import upgrade
from core.models import (
    Account,
    AggregatorKey,
    ApiKey,
    Connection,
    Plan,
    Project,
    Tenant,
    WebhookEndpoint,
)
from core.security import hash_api_key
from core.status import Platform
from core.vault import Vault, encrypted_columns
from tests.support.databases import stored_bytes

runner = CliRunner()
M = TypeVar("M", bound=SQLModel)


@pytest.fixture
def operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[Settings]:
    """The environment an operator's shell has: a database and the token keys."""
    monkeypatch.setenv("CRIER_ENV", "test")
    monkeypatch.setenv("CRIER_DATA_DIR", str(tmp_path / "crier"))
    monkeypatch.setenv("CRIER_DATABASE_URL", database_url)  # '': the SQLite file in data_dir
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


def rows(settings: Settings, model: type[M]) -> list[M]:
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        found: list[M] = list(session.exec(select(model)).all())
    engine.dispose()
    return found


def test_a_key_is_shown_once_stored_as_a_hash_and_carries_its_scopes(operator: Settings) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    key = crier(
        "keys", "create", "--tenant", tenant_id, "--scopes", "social.view,social.publish", "--test"
    )
    assert key.startswith("sk_test_") and len(key) > 40
    [stored] = rows(operator, ApiKey)
    assert stored.key_hash == hash_api_key(key)
    assert stored.scopes == ["social.view", "social.publish"] and stored.is_test
    raw = stored_bytes(operator)
    assert stored.key_prefix.encode() in raw  # the scan reads the right database...
    assert key.encode() not in raw  # ...and the key is not in it
    listed = crier("keys", "list", "--tenant", tenant_id)
    assert key not in listed and stored.key_prefix in listed

    live = crier("keys", "create", "--tenant", tenant_id, "--scopes", "social.view")
    assert live.startswith("sk_live_")


def test_seed_004s_scope_names_are_taken_as_criers_own(operator: Settings) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    scopes = "service.social.view,service.social.manage,service.social.publish"
    crier("keys", "create", "--tenant", tenant_id, "--scopes", scopes, "--test")
    [stored] = rows(operator, ApiKey)
    assert stored.scopes == ["social.view", "social.manage", "social.publish"]
    bad = runner.invoke(
        app, ["keys", "create", "--tenant", tenant_id, "--scopes", "service.social.all"]
    )
    assert bad.exit_code == 2 and "service.social.all" in bad.output


def test_unknown_scopes_and_tenants_are_refused(operator: Settings) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    bad = runner.invoke(app, ["keys", "create", "--tenant", tenant_id, "--scopes", "social.all"])
    assert bad.exit_code == 2 and "social.all" in bad.output
    missing = runner.invoke(app, ["keys", "create", "--tenant", "nope", "--scopes", "social.view"])
    assert missing.exit_code == 1
    assert rows(operator, ApiKey) == []


def test_a_key_gets_no_scope_it_was_not_given(operator: Settings) -> None:
    """No default set of scopes: without --scopes no key is made (all four would let a key
    approve and publish its own posts)."""
    tenant_id = crier("tenants", "create", "--name", "Acme")
    unasked = runner.invoke(app, ["keys", "create", "--tenant", tenant_id])
    assert unasked.exit_code == 2 and "--scopes" in unasked.output
    assert rows(operator, ApiKey) == []
    crier("keys", "create", "--tenant", tenant_id, "--scopes", "social.view")
    [key] = rows(operator, ApiKey)
    assert key.scopes == ["social.view"]


def test_publishing_is_off_until_an_operator_moves_the_tenant_to_a_plan_that_allows_it(
    operator: Settings,
) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    [tenant] = rows(operator, Tenant)
    plans = {plan.id: plan for plan in rows(operator, Plan)}
    assert tenant.plan_id == "free" and plans["free"].allow_social_publishing is False
    said = crier("tenants", "update", tenant_id, "--plan", "publishing")
    assert "plan=publishing" in said
    [tenant] = rows(operator, Tenant)
    assert tenant.plan_id == "publishing" and plans["publishing"].allow_social_publishing


def plaintext(table: str, column: str) -> str:
    return f"{table}.{column} secret"


def encrypted_rows(settings: Settings, vault: Vault) -> set[tuple[str, str]]:
    """One row in every table that has encrypted columns, each such column filled (with a value
    that names where it lives); returns the (table, column) pairs filled."""
    tenant = Tenant(name="Acme")
    key = ApiKey(
        tenant_id=tenant.id,
        name="k",
        key_hash="h" * 64,
        key_prefix="sk_live_x",
        is_test=False,
        scopes=[],
    )
    project = Project(tenant_id=tenant.id, is_test=False, name="Default", is_default=True)
    account = Account(
        tenant_id=tenant.id,
        project_id=project.id,
        platform=Platform.X,
        external_id="1",
        display_name="x",
        access_token_enc=vault.encrypt(plaintext("account", "access_token_enc")),
        refresh_token_enc=vault.encrypt(plaintext("account", "refresh_token_enc")),
    )
    connection = Connection(
        tenant_id=tenant.id,
        api_key_id=key.id,
        project_id=project.id,
        platform=Platform.X,
        is_sandbox=False,
        state_hash="s" * 64,
        pkce_verifier_enc=vault.encrypt(plaintext("connection", "pkce_verifier_enc")),
        grants_enc=vault.encrypt(plaintext("connection", "grants_enc")),
        expires_at=utcnow(),
    )
    aggregator = AggregatorKey(
        tenant_id=tenant.id,
        aggregator="late",
        api_key_enc=vault.encrypt(plaintext("aggregator_key", "api_key_enc")),
    )
    endpoint = WebhookEndpoint(
        tenant_id=tenant.id,
        is_test=False,
        url="https://hooks.example/crier",
        created_by=key.id,
        secret_enc=vault.encrypt(plaintext("webhook_endpoint", "secret_enc")),
        previous_secret_enc=vault.encrypt(plaintext("webhook_endpoint", "previous_secret_enc")),
    )
    by_table: dict[str, SQLModel] = {
        "account": account,
        "connection": connection,
        "aggregator_key": aggregator,
        "webhook_endpoint": endpoint,
    }
    filled = {
        (table, column)
        for table, row in by_table.items()
        for column, value in row.model_dump().items()
        if column.endswith("_enc") and value is not None
    }
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        for parents in ([tenant], [key, project], [account, connection, aggregator, endpoint]):
            session.add_all(parents)
            session.flush()  # no ORM relationships: parents are flushed before children
        session.commit()
    engine.dispose()
    return filled


def stored_ciphertexts(settings: Settings) -> dict[tuple[str, str], str]:
    engine = make_sync_engine(settings)
    found: dict[tuple[str, str], str] = {}
    with engine.connect() as connection:
        for table, columns in encrypted_columns(SQLModel.metadata):
            for row in connection.execute(sa_select(*columns)).mappings():
                for column in columns:
                    if row[column.name] is not None:
                        found[(table.name, column.name)] = row[column.name]
    engine.dispose()
    return found


def test_rotate_keys_re_encrypts_every_encrypted_column_so_the_old_key_can_go(
    operator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `*_enc` column of every table, found as rotate-keys finds them: a column added
    without a row here fails the first assertion, so none can be left out of this test (or,
    through the same enumeration, out of the rotation)."""
    old_key = operator.token_keys[0].get_secret_value()
    filled = encrypted_rows(operator, Vault([old_key]))
    every = {(t.name, c.name) for t, cs in encrypted_columns(SQLModel.metadata) for c in cs}
    assert filled == every, f"give these columns a value here: {sorted(every - filled)}"
    before = stored_ciphertexts(operator)

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("CRIER_TOKEN_KEYS", f"{new_key},{old_key}")
    get_settings.cache_clear()
    said = crier("rotate-keys")
    assert "1 webhook_endpoint.secret_enc" in said and "1 account.access_token_enc" in said

    # The old key dropped, as docs/operations.md's procedure ends: every value still opens.
    monkeypatch.setenv("CRIER_TOKEN_KEYS", new_key)
    get_settings.cache_clear()
    only_new = Vault.from_settings(get_settings())
    after = stored_ciphertexts(operator)
    assert set(after) == every
    for (table, column), ciphertext in after.items():
        assert ciphertext != before[(table, column)]
        assert only_new.decrypt(ciphertext) == plaintext(table, column)
        with pytest.raises(InvalidToken):
            Vault([old_key]).decrypt(ciphertext)


def test_rotate_keys_changes_nothing_when_a_value_opens_with_no_key(
    operator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypted_rows(operator, Vault([Fernet.generate_key().decode()]))  # a key since lost
    before = stored_ciphertexts(operator)
    monkeypatch.setenv("CRIER_TOKEN_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()
    refused = runner.invoke(app, ["rotate-keys"])
    assert refused.exit_code == 1
    assert "opens with none of CRIER_TOKEN_KEYS" in refused.output
    assert stored_ciphertexts(operator) == before
