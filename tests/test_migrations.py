"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from api.views import media_view
from core.config import Settings
from core.db import async_url, make_sync_engine, sync_url
from core.media_alt import target_media_alt
from core.migrate import downgrade, pending_model_changes, upgrade
from core.models import Account, Post, Project, Target, Tenant


def test_sqlite_migrations_match_the_models(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    upgrade(settings)
    assert pending_model_changes(settings) == []
    upgrade(settings)  # a second run is a no-op, as `crier dev` relies on


def test_postgresql_migrations_match_the_models(postgres_database: str, tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    upgrade(settings)
    assert pending_model_changes(settings) == []


def test_database_urls_keep_their_password() -> None:
    url = "postgresql://crier:s3cret@db:5432/crier"
    assert sync_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url(url) == "postgresql+psycopg://crier:s3cret@db:5432/crier"
    assert async_url("sqlite:///.crier/crier.db") == "sqlite+aiosqlite:///.crier/crier.db"


def _rows_before_alt_text(settings: Settings) -> None:
    """A post and a target with its own media, written by the schema before 0015."""
    upgrade(settings, "0014")
    now = datetime.now(UTC)
    rows = [
        ("tenant", {"id": "t1", "name": "T", "requires_approval": False, "created_at": now}),
        (
            "api_key",
            {
                "id": "k1",
                "tenant_id": "t1",
                "name": "k",
                "key_hash": "h",
                "key_prefix": "p",
                "is_test": True,
                "scopes": "[]",
                "created_at": now,
            },
        ),
        (
            "account",
            {
                "id": "a1",
                "tenant_id": "t1",
                "platform": "x",
                "external_id": "1",
                "display_name": "x",
                "status": "active",
                "is_sandbox": True,
                "created_at": now,
                "updated_at": now,
            },
        ),
        (
            "post",
            {
                "id": "p1",
                "tenant_id": "t1",
                "body": "old",
                "media_urls": '["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]',
                "is_test": True,
                "created_by": "k1",
                "approval_state": "not_required",
                "created_at": now,
                "updated_at": now,
            },
        ),
        (
            "target",
            {
                "id": "g1",
                "post_id": "p1",
                "tenant_id": "t1",
                "account_id": "a1",
                "platform": "x",
                "override_media_urls": '["https://cdn.example/c.jpg"]',
                "status": "draft",
                "attempt_count": 0,
                "created_at": now,
                "updated_at": now,
            },
        ),
    ]
    engine = make_sync_engine(settings)
    with engine.begin() as connection:
        for table, row in rows:
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
    engine.dispose()


def _read_after_alt_text(settings: Settings) -> None:
    upgrade(settings)
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        post, target = session.get(Post, "p1"), session.get(Target, "g1")
        assert post is not None and target is not None
        assert (post.media_alt, target.override_media_alt) == (None, None)
        assert media_view(post.media_urls, post.media_alt)[1].model_dump() == {
            "url": "https://cdn.example/b.jpg",
            "alt": None,
        }
        assert target_media_alt(post, target) == [None]  # the target's own media, no alt
    engine.dispose()


def test_rows_from_before_alt_text_read_as_media_without_it_on_sqlite(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    _rows_before_alt_text(settings)
    _read_after_alt_text(settings)


def test_rows_from_before_alt_text_read_as_media_without_it_on_postgresql(
    postgres_database: str, tmp_path
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    _rows_before_alt_text(settings)
    _read_after_alt_text(settings)


def _rows_before_projects(settings: Settings) -> None:
    """Two tenants, one whose flag allowed publishing, with accounts and posts in both modes,
    written by the schema before 0020."""
    upgrade(settings, "0019")
    now = datetime.now(UTC)
    engine = make_sync_engine(settings)
    with engine.begin() as connection:

        def insert(table: str, **row: object) -> None:
            names = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            connection.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)

        for tenant, publishing in (("t1", True), ("t2", False)):
            insert(
                "tenant",
                id=tenant,
                name=tenant,
                requires_approval=False,
                allow_social_publishing=publishing,
                created_at=now,
            )
            insert(
                "api_key",
                id=f"{tenant}k",
                tenant_id=tenant,
                name="k",
                key_hash=f"h{tenant}",
                key_prefix="p",
                is_test=True,
                scopes="[]",
                created_at=now,
            )
            for sandbox in (True, False):
                suffix = f"{tenant}{'s' if sandbox else 'l'}"
                insert(
                    "account",
                    id=f"a{suffix}",
                    tenant_id=tenant,
                    platform="x",
                    external_id="1",
                    display_name="x",
                    status="active",
                    is_sandbox=sandbox,
                    created_at=now,
                    updated_at=now,
                )
                insert(
                    "post",
                    id=f"p{suffix}",
                    tenant_id=tenant,
                    body="old",
                    media_urls="[]",
                    is_test=sandbox,
                    created_by=f"{tenant}k",
                    approval_state="not_required",
                    created_at=now,
                    updated_at=now,
                )
    engine.dispose()


def _read_after_projects(settings: Settings) -> None:
    upgrade(settings)
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        plans = {t.id: t.plan_id for t in session.exec(select(Tenant))}
        assert plans == {"t1": "publishing", "t2": "free"}
        projects = {(p.tenant_id, p.is_test): p for p in session.exec(select(Project))}
        assert sorted(projects) == [("t1", False), ("t1", True), ("t2", False), ("t2", True)]
        assert all(p.is_default and p.name == "Default" for p in projects.values())
        for tenant in ("t1", "t2"):
            for sandbox, suffix in ((True, "s"), (False, "l")):
                account = session.get(Account, f"a{tenant}{suffix}")
                post = session.get(Post, f"p{tenant}{suffix}")
                assert account is not None and post is not None
                home = projects[(tenant, sandbox)].id
                assert (account.project_id, post.project_id) == (home, home)
    engine.dispose()
    # And back: the tenants' flags return from their plans.
    downgrade(settings, "0019")
    engine = make_sync_engine(settings)
    with engine.connect() as connection:
        flags: dict[str, object] = dict(
            connection.execute(sa.text("SELECT id, allow_social_publishing FROM tenant")).all()
        )
    engine.dispose()
    assert {k: bool(v) for k, v in flags.items()} == {"t1": True, "t2": False}
    upgrade(settings)  # and up again
    assert pending_model_changes(settings) == []


def test_existing_rows_move_into_a_default_project_per_mode_on_sqlite(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    _rows_before_projects(settings)
    _read_after_projects(settings)


def test_existing_rows_move_into_a_default_project_per_mode_on_postgresql(
    postgres_database: str, tmp_path
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_database)
    _rows_before_projects(settings)
    _read_after_projects(settings)
