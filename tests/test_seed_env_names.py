"""The seeds' variable names (issue 21 item 5): an operator coming from seed 001 or 002 sets
SOCIAL_TOKEN_KEY, ENCRYPTION_KEY, POSTFORME_API_KEY, LATE_API_KEY, META_APP_ID/SECRET,
LINKEDIN_CLIENT_ID/SECRET, SOCIAL_OAUTH_REDIRECT_BASE and CRON_SECRET. Each is taken as the
crier setting it means, a disagreement with that setting refuses to start naming both, and
CRON_SECRET, which crier has no use for, is warned about as each process starts. Settings are
built from a given environment here, as a process builds them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from api.services.connecting import callback_url
from core.config import SeedVariables, Settings, log_mode
from core.status import Platform
from core.vault import Vault

SEED_NAMES = [name.upper() for name in SeedVariables.model_fields]
KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
# Secrets distinctive enough that finding any part of one in a message is a leak.
SECRET = "seed-secret-4f1c9d2a7b"
OTHER_SECRET = "crier-secret-8e3a6b0c5d"

Load = Callable[..., Settings]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Load:
    """Settings from exactly the variables given (test mode unless CRIER_ENV is given), with
    nothing inherited from this process's environment and no .env file."""
    for name in [n for n in os.environ if n.startswith("CRIER_") or n in SEED_NAMES]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def build(**variables: str) -> Settings:
        for name, value in {"CRIER_ENV": "test", **variables}.items():
            monkeypatch.setenv(name, value)
        return Settings(_env_file=None)

    return build


def refusal(load: Load, **variables: str) -> str:
    with pytest.raises(ValidationError) as refused:
        load(**variables)
    said = str(refused.value)
    assert "refusing to start" in said
    return said


@pytest.mark.parametrize("name", ["SOCIAL_TOKEN_KEY", "ENCRYPTION_KEY"])
def test_the_seeds_token_key_becomes_the_vaults_key(load: Load, name: str) -> None:
    settings = load(**{name: KEY})
    assert [k.get_secret_value() for k in settings.token_keys] == [KEY]
    sealed = Vault.from_settings(settings).encrypt("token")
    assert Fernet(KEY.encode()).decrypt(sealed.encode()) == b"token"


def test_a_seed_token_key_is_enough_for_production(load: Load) -> None:
    """Production requires a token key; the seed's name for it is that key."""
    settings = load(
        CRIER_ENV="production",
        SOCIAL_TOKEN_KEY=KEY,
        CRIER_PAYLOAD_KEYS=KEY,  # a Fernet key is also 32 bytes in urlsafe base64
        CRIER_SESSION_SECRET="s" * 40,
        CRIER_SANDBOX_SECRET="sandbox-secret-for-this-test",
        CRIER_DATABASE_URL="postgresql://crier@db/crier",
        CRIER_RATE_LIMIT_STORAGE="memory://",
    )
    assert settings.env == "production"
    assert [k.get_secret_value() for k in settings.token_keys] == [KEY]


def test_the_aggregator_keys_are_taken(load: Load) -> None:
    settings = load(POSTFORME_API_KEY=SECRET, LATE_API_KEY=OTHER_SECRET)
    assert settings.postforme_api_key is not None and settings.late_api_key is not None
    assert settings.postforme_api_key.get_secret_value() == SECRET
    assert settings.late_api_key.get_secret_value() == OTHER_SECRET


def test_the_meta_app_serves_facebook_and_instagram_and_the_linkedin_app_linkedin(
    load: Load,
) -> None:
    settings = load(
        META_APP_ID="meta-app",
        META_APP_SECRET=SECRET,
        LINKEDIN_CLIENT_ID="linkedin-app",
        LINKEDIN_CLIENT_SECRET=OTHER_SECRET,
    )
    apps = {
        platform: (app.client_id, app.client_secret.get_secret_value())
        for platform, app in settings.oauth_clients.items()
    }
    # Threads has an app id and secret of its own (Meta's Threads use case), so none here.
    assert apps == {
        "facebook": ("meta-app", SECRET),
        "instagram": ("meta-app", SECRET),
        "linkedin": ("linkedin-app", OTHER_SECRET),
    }


def test_the_meta_app_joins_crier_apps_it_agrees_with(load: Load) -> None:
    settings = load(
        CRIER_OAUTH_CLIENTS=(
            '{"facebook": {"client_id": "meta-app", "client_secret": "' + SECRET + '"},'
            ' "x": {"client_id": "x-app", "client_secret": "x"}}'
        ),
        META_APP_ID="meta-app",
        META_APP_SECRET=SECRET,
    )
    assert sorted(settings.oauth_clients) == ["facebook", "instagram", "x"]
    assert settings.oauth_clients["instagram"].client_id == "meta-app"


def test_the_redirect_base_is_where_the_callbacks_land(load: Load) -> None:
    settings = load(SOCIAL_OAUTH_REDIRECT_BASE="https://social.example.com/")
    assert settings.public_api_url == "https://social.example.com"
    assert (
        callback_url(settings, platform=Platform.FACEBOOK)
        == "https://social.example.com/v1/oauth/facebook/callback"
    )


def test_both_names_agreeing_load(load: Load) -> None:
    settings = load(
        SOCIAL_TOKEN_KEY=KEY,
        ENCRYPTION_KEY=KEY,
        # After a rotation the seed's key is the old one: still a key of the vault.
        CRIER_TOKEN_KEYS=f"{OTHER_KEY},{KEY}",
        POSTFORME_API_KEY=SECRET,
        CRIER_POSTFORME_API_KEY=SECRET,
        SOCIAL_OAUTH_REDIRECT_BASE="https://social.example.com/",
        CRIER_PUBLIC_API_URL="https://social.example.com",
    )
    assert [k.get_secret_value() for k in settings.token_keys] == [OTHER_KEY, KEY]
    assert settings.public_api_url == "https://social.example.com"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        (
            {"SOCIAL_TOKEN_KEY": KEY, "CRIER_TOKEN_KEYS": OTHER_KEY},
            ("SOCIAL_TOKEN_KEY", "CRIER_TOKEN_KEYS"),
        ),
        (
            {"ENCRYPTION_KEY": KEY, "CRIER_TOKEN_KEYS": OTHER_KEY},
            ("ENCRYPTION_KEY", "CRIER_TOKEN_KEYS"),
        ),
        (
            {"SOCIAL_TOKEN_KEY": KEY, "ENCRYPTION_KEY": OTHER_KEY},
            ("SOCIAL_TOKEN_KEY", "ENCRYPTION_KEY"),
        ),
        (
            {"POSTFORME_API_KEY": SECRET, "CRIER_POSTFORME_API_KEY": OTHER_SECRET},
            ("POSTFORME_API_KEY", "CRIER_POSTFORME_API_KEY"),
        ),
        (
            {"LATE_API_KEY": SECRET, "CRIER_LATE_API_KEY": OTHER_SECRET},
            ("LATE_API_KEY", "CRIER_LATE_API_KEY"),
        ),
        (
            {
                "META_APP_ID": "meta-app",
                "META_APP_SECRET": SECRET,
                "CRIER_OAUTH_CLIENTS": (
                    '{"facebook": {"client_id": "other-app", "client_secret": "' + SECRET + '"}}'
                ),
            },
            ("META_APP_ID", "CRIER_OAUTH_CLIENTS' facebook client_id"),
        ),
        (
            {
                "META_APP_ID": "meta-app",
                "META_APP_SECRET": SECRET,
                "CRIER_OAUTH_CLIENTS": (
                    '{"instagram": {"client_id": "meta-app", "client_secret": "'
                    + OTHER_SECRET
                    + '"}}'
                ),
            },
            ("META_APP_SECRET", "CRIER_OAUTH_CLIENTS' instagram client_secret"),
        ),
        (
            {
                "LINKEDIN_CLIENT_ID": "linkedin-app",
                "LINKEDIN_CLIENT_SECRET": SECRET,
                "CRIER_OAUTH_CLIENTS": (
                    '{"linkedin": {"client_id": "linkedin-app", "client_secret": "'
                    + OTHER_SECRET
                    + '"}}'
                ),
            },
            ("LINKEDIN_CLIENT_SECRET", "CRIER_OAUTH_CLIENTS' linkedin client_secret"),
        ),
        (
            {
                "SOCIAL_OAUTH_REDIRECT_BASE": "https://social.example.com",
                "CRIER_PUBLIC_API_URL": "https://api.example.com",
            },
            ("SOCIAL_OAUTH_REDIRECT_BASE", "CRIER_PUBLIC_API_URL"),
        ),
        (
            # Explicitly crier's default is still set: a disagreement all the same.
            {
                "SOCIAL_OAUTH_REDIRECT_BASE": "https://social.example.com",
                "CRIER_PUBLIC_API_URL": "http://127.0.0.1:8000",
            },
            ("SOCIAL_OAUTH_REDIRECT_BASE", "CRIER_PUBLIC_API_URL"),
        ),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else None,
)
def test_a_disagreement_refuses_to_start_naming_both(
    load: Load, variables: dict[str, str], named: tuple[str, str]
) -> None:
    said = refusal(load, **variables)
    seed, crier = named
    assert f"{seed} and {crier}" in said
    for secret in (KEY, OTHER_KEY, SECRET, OTHER_SECRET):
        assert secret not in said and secret[:8] not in said


@pytest.mark.parametrize(
    "seed_key",
    [
        "9f2c" * 16,  # 32 bytes in hex, as an AES-256 key is often written
        "correct horse battery staple",  # a passphrase
        Fernet.generate_key().decode()[:-4],  # a Fernet key cut short
    ],
    ids=["hex", "passphrase", "truncated"],
)
def test_a_seed_token_key_that_is_not_a_fernet_key_is_refused_not_derived(
    load: Load, seed_key: str
) -> None:
    said = refusal(load, SOCIAL_TOKEN_KEY=seed_key)
    assert "SOCIAL_TOKEN_KEY is set but is not a Fernet key" in said
    assert "CRIER_TOKEN_KEYS" in said
    assert seed_key not in said and seed_key[:8] not in said


def test_half_an_app_is_refused(load: Load) -> None:
    said = refusal(load, META_APP_ID="meta-app", LINKEDIN_CLIENT_SECRET=SECRET)
    assert "META_APP_ID is set without META_APP_SECRET" in said
    assert "LINKEDIN_CLIENT_SECRET is set without LINKEDIN_CLIENT_ID" in said
    assert SECRET not in said


def test_a_redirect_base_that_is_not_a_url_is_refused(load: Load) -> None:
    said = refusal(load, SOCIAL_OAUTH_REDIRECT_BASE="/oauth")
    assert "SOCIAL_OAUTH_REDIRECT_BASE is not an absolute http(s) URL" in said


def test_cron_secret_loads_and_is_warned_about_as_each_process_starts(
    load: Load, caplog: pytest.LogCaptureFixture
) -> None:
    """Warned, not refused: it guarded the seed's cron endpoint, and crier has none, so nothing
    is open for want of it."""
    settings = load(CRON_SECRET=SECRET, LATE_API_KEY=OTHER_SECRET)
    with caplog.at_level(logging.INFO, logger="crier.mode"):
        log_mode("worker", settings)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    [cron] = [line for line in warned if "CRON_SECRET" in line]
    assert "no cron endpoint" in cron
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("LATE_API_KEY as CRIER_LATE_API_KEY" in line for line in said)
    assert SECRET not in caplog.text and OTHER_SECRET not in caplog.text


def test_no_seed_variable_no_seed_lines(load: Load, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="crier.mode"):
        log_mode("api", load())
    [line] = [r.getMessage() for r in caplog.records]
    assert "starting in test mode" in line


def test_an_empty_seed_variable_is_unset(load: Load) -> None:
    """Compose passes a listed variable nobody filled as empty."""
    settings = load(SOCIAL_TOKEN_KEY="", POSTFORME_API_KEY="", CRON_SECRET="")
    assert settings.token_keys == [] and settings.postforme_api_key is None
    assert settings._seed_variables_unused == []


def test_the_seeds_names_are_read_from_the_same_env_file(load: Load, tmp_path: Path) -> None:
    env_file = tmp_path / "crier.env"
    env_file.write_text(f"CRIER_ENV=test\nPOSTFORME_API_KEY={SECRET}\n")
    settings = Settings(_env_file=env_file)
    assert settings.postforme_api_key is not None
    assert settings.postforme_api_key.get_secret_value() == SECRET
    # ... and from none when crier reads none.
    (tmp_path / ".env").write_text(f"POSTFORME_API_KEY={SECRET}\n")
    assert load().postforme_api_key is None
