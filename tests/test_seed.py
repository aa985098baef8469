"""The demo tenant `crier dev` seeds: idempotent, and its token stored only encrypted."""

from __future__ import annotations

from pathlib import Path

from cli.seed import DEMO_PAGE_ID, seed_demo
from core.config import Settings
from core.migrate import upgrade
from core.status import Platform
from sandbox.tokens import issue_token
from tests.support.databases import stored_bytes


def test_seeding_twice_changes_nothing_and_keeps_the_token_encrypted(
    tmp_path: Path, database_url: str
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=database_url)
    upgrade(settings)

    first = seed_demo(settings)
    second = seed_demo(settings)

    assert first == second
    token = issue_token(settings.sandbox_secret.get_secret_value(), Platform.FACEBOOK, DEMO_PAGE_ID)
    raw = stored_bytes(settings)
    assert DEMO_PAGE_ID.encode() in raw  # the scan reads the right database...
    assert token.encode() not in raw  # ...and the token is not in it
    assert settings.dev_api_key.get_secret_value().encode() not in raw  # keys are hashed
