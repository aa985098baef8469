"""The operators' commands, run as an operator would: tenants, API keys, key rotation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings, get_settings
from core.db import make_sync_engine
from core.migrate import upgrade
from core.models import Account, AggregatorKey, ApiKey, Tenant
from core.security import hash_api_key
from core.status import Platform
from core.vault import Vault
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


def test_unknown_scopes_and_tenants_are_refused(operator: Settings) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    bad = runner.invoke(app, ["keys", "create", "--tenant", tenant_id, "--scopes", "social.all"])
    assert bad.exit_code == 2 and "social.all" in bad.output
    missing = runner.invoke(app, ["keys", "create", "--tenant", "nope"])
    assert missing.exit_code == 1
    assert rows(operator, ApiKey) == []


def test_publishing_is_off_until_an_operator_turns_it_on(operator: Settings) -> None:
    tenant_id = crier("tenants", "create", "--name", "Acme")
    [tenant] = rows(operator, Tenant)
    assert tenant.allow_social_publishing is False
    crier("tenants", "update", tenant_id, "--allow-social-publishing")
    [tenant] = rows(operator, Tenant)
    assert tenant.allow_social_publishing is True


def test_rotate_keys_re_encrypts_everything_under_the_new_first_key(
    operator: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key = operator.token_keys[0].get_secret_value()
    old = Vault([old_key])
    tenant_id = crier("tenants", "create", "--name", "Acme")
    engine = make_sync_engine(operator)
    with Session(engine) as session:
        session.add(
            Account(
                tenant_id=tenant_id,
                platform=Platform.X,
                external_id="1",
                display_name="x",
                access_token_enc=old.encrypt("access-1"),
                refresh_token_enc=old.encrypt("refresh-1"),
            )
        )
        session.add(
            AggregatorKey(tenant_id=tenant_id, aggregator="late", api_key_enc=old.encrypt("agg"))
        )
        session.commit()
    engine.dispose()

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("CRIER_TOKEN_KEYS", f"{new_key},{old_key}")
    get_settings.cache_clear()
    assert "1 accounts" in crier("rotate-keys")

    new = Vault([new_key])
    [account] = rows(operator, Account)
    [aggregator] = rows(operator, AggregatorKey)
    assert account.access_token_enc and account.refresh_token_enc
    assert new.decrypt(account.access_token_enc) == "access-1"
    assert new.decrypt(account.refresh_token_enc) == "refresh-1"
    assert new.decrypt(aggregator.api_key_enc) == "agg"
    with pytest.raises(InvalidToken):
        old.decrypt(account.access_token_enc)  # the old key can now be dropped
