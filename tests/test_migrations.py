"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session

from api.views import media_view
from core.config import Settings
from core.db import async_url, make_sync_engine, sync_url
from core.media_alt import target_media_alt
from core.migrate import pending_model_changes, upgrade
from core.models import Post, Target


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
