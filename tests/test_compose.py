"""The production compose file, checked without Docker: its services, images, environment,
healthchecks and start order, and that it agrees with the code it deploys (core/config.Settings,
core/temporal.SEARCH_ATTRIBUTES), with deploy/env.example and with the Dockerfile."""

from __future__ import annotations

import base64
import os
import re
import secrets
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped]
from cryptography.fernet import Fernet

from core.codec import EncryptionCodec, new_key
from core.config import Settings
from core.temporal import search_attribute_flags
from core.vault import Vault

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"

CRIER_SERVICES = ("migrate", "api", "worker")
ONE_SHOT = ("migrate", "temporal-setup")
LONG_RUNNING = ("postgres", "temporal", "temporal-ui", "redis", "api", "worker")

# ${NAME}, ${NAME:?message}, ${NAME?message}, ${NAME:-default}, ${NAME-default}
INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}"
)
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|PWD|TOKEN|CLIENTS")
CRIER_NAME = re.compile(r"\bCRIER_[A-Z0-9_]+\b")
DEPENDS_OF_CRIER = {
    "postgres": "service_healthy",
    "migrate": "service_completed_successfully",
    "temporal": "service_healthy",
    "temporal-setup": "service_completed_successfully",
}


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    assert isinstance(environment, dict), "environment is a mapping (so the anchor can merge)"
    return {str(key): None if value is None else str(value) for key, value in environment.items()}


def settings_env_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    assert prefix == "CRIER_"
    return {prefix + name.upper() for name in Settings.model_fields}


def resolve(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation of one value, strictly: a required variable missing is an error."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        given = env.get(name, "")
        if op in (":?", "?"):
            if not given:
                raise KeyError(f"{name} is required: {arg}")
            return given
        if op in (":-", "-"):
            return given or arg
        return given

    return INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def env_example() -> dict[str, str]:
    """NAME=value lines of deploy/env.example; commented-out ones (`# NAME=...`) as well."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found.setdefault(match[2], "" if match[1] else match[3])
    return found


def env_example_active() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match[1]] = match[2]
    return found


@cache
def filled_env() -> dict[str, str]:
    """.env as deploy/env.example says to fill it: its values, and each secret generated the
    way it says (the same for the whole module)."""
    return env_example_active() | {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
        "POSTGRES_CRIER_PASSWORD": secrets.token_urlsafe(32),
        "POSTGRES_TEMPORAL_PASSWORD": secrets.token_urlsafe(32),
        "CRIER_TOKEN_KEYS": Fernet.generate_key().decode(),
        "CRIER_PAYLOAD_KEYS": new_key(),
        "CRIER_SESSION_SECRET": secrets.token_urlsafe(32),
        "CRIER_SANDBOX_SECRET": secrets.token_urlsafe(32),
    }


def strings_in(node: object) -> list[str]:
    """Every string value in a parsed YAML tree (comments are not values)."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings_in(value)]
    return [node] if isinstance(node, str) else []


def bind_mounts(services: dict[str, dict[str, Any]]) -> list[str]:
    return [
        volume.split(":", 1)[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]


def test_the_stack_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgres",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "redis",
        "migrate",
        "api",
        "worker",
    }
    assert services["redis"]["image"].startswith("redis:")
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal-setup"]["image"].startswith("temporalio/admin-tools:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["api"]["command"] == ["api", "--host", "0.0.0.0", "--port", "8000"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["migrate"]


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: {image} has no tag"
        assert "$" not in image, f"{name}: {image} is chosen at run time"
        if name not in CRIER_SERVICES:
            assert re.match(r"^\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"


def test_crier_services_share_one_image_and_one_environment(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    shared = compose["x-crier-env"]
    assert shared["CRIER_ENV"] == "production"
    for key in (
        "CRIER_DATABASE_URL",
        "CRIER_TEMPORAL_ADDRESS",
        "CRIER_TOKEN_KEYS",
        "CRIER_PAYLOAD_KEYS",
        "CRIER_SANDBOX_SECRET",
        "CRIER_SESSION_SECRET",
        "CRIER_PUBLIC_API_URL",
        "CRIER_TEMPORAL_UI_URL",
    ):
        assert shared.get(key), f"x-crier-env lacks {key}"
    first = services[CRIER_SERVICES[0]]
    for name in CRIER_SERVICES:
        service = services[name]
        assert service["image"] == first["image"] == "crier:local"
        assert service["build"] == first["build"] == "."
        env = env_of(service)
        for key, value in shared.items():
            assert env.get(key, "<missing>") == value, f"{name}: {key} differs from x-crier-env"
        extra = set(env) - set(shared)
        assert extra == ({"CRIER_METRICS_BIND"} if name == "worker" else set()), name


def test_no_secret_is_written_in_the_file(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    environments = {"x-crier-env": compose["x-crier-env"]} | {
        name: env_of(service) for name, service in services.items()
    }
    required = r"\$\{[A-Z0-9_]+:?\?[^}]*\}"
    for where, env in environments.items():
        for key, value in env.items():
            # A URL's password (postgresql://user:password@host) comes from .env as well.
            userinfo = re.search(r"://([^/@]*)@", value or "")
            if userinfo and ":" in userinfo[1]:
                password = userinfo[1].split(":", 1)[1]
                assert re.fullmatch(required, password), f"{where}: {key} writes a password"
            if SECRET_NAME.search(key) and value not in ("true", "false"):
                # Passed through from .env (no value), or one required interpolation: no
                # literal, and no default that would be a literal secret.
                assert value is None or re.fullmatch(required, value), (
                    f"{where}: {key}={value!r} is not taken from .env"
                )


def test_long_running_services_have_healthchecks_and_one_shots_do_not_restart(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert services[name].get("restart") == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no", f"{name} is a one-shot job"
    assert set(LONG_RUNNING) | set(ONE_SHOT) == set(services)


def test_healthchecks_probe_the_ports_the_processes_serve(
    services: dict[str, dict[str, Any]],
) -> None:
    api, worker = services["api"], services["worker"]
    api_probe = " ".join(api["healthcheck"]["test"])
    port = api["command"][api["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/healthz" in api_probe
    assert "curl" not in api_probe, "python:slim has no curl"
    assert [mapping.rsplit(":", 1)[1] for mapping in api["ports"]] == [port]
    metrics_port = env_of(worker)["CRIER_METRICS_BIND"]
    assert metrics_port is not None
    worker_probe = " ".join(worker["healthcheck"]["test"])
    assert f"http://127.0.0.1:{metrics_port.rsplit(':', 1)[1]}/metrics" in worker_probe


def test_the_worker_scales(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker, "a host port binds once: --scale worker=N would collide"
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: let compose name containers"


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def conditions(name: str) -> dict[str, str]:
        depends = services[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        return {dep: spec["condition"] for dep, spec in depends.items()}

    assert conditions("api") == DEPENDS_OF_CRIER | {"redis": "service_healthy"}
    assert conditions("worker") == DEPENDS_OF_CRIER
    assert conditions("migrate") == {"postgres": "service_healthy"}
    assert conditions("temporal") == {"postgres": "service_healthy"}
    assert conditions("temporal-setup") == {"temporal": "service_healthy"}
    assert conditions("temporal-ui") == {"temporal": "service_healthy"}


def test_the_temporal_ui_decodes_through_the_api_codec(
    services: dict[str, dict[str, Any]],
) -> None:
    crier = env_of(services["api"])
    ui = env_of(services["temporal-ui"])
    public_api, ui_url = crier["CRIER_PUBLIC_API_URL"], crier["CRIER_TEMPORAL_UI_URL"]
    assert public_api is not None and ui_url is not None
    # The browser calls {public API}/codec/decode; api/main.py mounts the codec at /codec.
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == public_api + "/codec"
    # crier's codec allows CRIER_TEMPORAL_UI_URL's origin; the UI server allows its own.
    assert ui["TEMPORAL_CORS_ORIGINS"] == ui_url
    assert ui["TEMPORAL_ADDRESS"] == crier["CRIER_TEMPORAL_ADDRESS"]
    # With the defaults, the published ports are where those URLs point.
    api_port = urlsplit(resolve(public_api, {})).port
    ui_port = urlsplit(resolve(ui_url, {})).port
    assert [resolve(p, {}) for p in services["api"]["ports"]] == [f"127.0.0.1:{api_port}:8000"]
    assert [resolve(p, {}) for p in services["temporal-ui"]["ports"]] == [
        f"127.0.0.1:{ui_port}:8080"
    ]


def test_one_namespace_and_one_address_everywhere(services: dict[str, dict[str, Any]]) -> None:
    crier = env_of(services["api"])
    namespace = crier["CRIER_TEMPORAL_NAMESPACE"]
    assert namespace == env_of(services["temporal"])["DEFAULT_NAMESPACE"]
    assert namespace == env_of(services["temporal-setup"])["NAMESPACE"]
    assert namespace == env_of(services["temporal-ui"])["TEMPORAL_DEFAULT_NAMESPACE"]
    address = crier["CRIER_TEMPORAL_ADDRESS"]
    assert address == env_of(services["temporal-setup"])["TEMPORAL_ADDRESS"]
    assert address == env_of(services["temporal"])["TEMPORAL_ADDRESS"]
    assert f"--address {address}" in " ".join(services["temporal"]["healthcheck"]["test"])


def test_every_crier_variable_is_a_setting() -> None:
    known = settings_env_names()
    for path in (COMPOSE, ENV_EXAMPLE):
        named = set(CRIER_NAME.findall(path.read_text()))
        assert named, path
        unknown = sorted(named - known)
        assert not unknown, f"{path.name} names CRIER_ variables Settings does not have: {unknown}"


def test_the_search_attributes_registered_are_crier_s(services: dict[str, dict[str, Any]]) -> None:
    setup = services["temporal-setup"]
    listed = env_of(setup)["SEARCH_ATTRIBUTES"]
    assert listed is not None
    registered = listed.split()
    wanted = [flag for flag in search_attribute_flags() if flag != "--search-attribute"]
    assert sorted(registered) == sorted(wanted)
    assert len(set(registered)) == len(registered)
    script = setup["command"][0]
    assert setup["entrypoint"] == ["/bin/sh", "-c"]
    assert "$$SEARCH_ATTRIBUTES" in script
    assert "temporal operator search-attribute create" in script
    # Every shell `$` is doubled, or compose would interpolate it (and fail or empty it).
    assert not re.search(r"(?<!\$)\$(?!\$)", script.replace("$$", "")), "a single $ in the script"
    temporal = env_of(services["temporal"])
    assert temporal["SKIP_ADD_CUSTOM_SEARCH_ATTRIBUTES"] == "true"


def test_temporal_runs_on_postgres_with_the_roles_init_creates(
    services: dict[str, dict[str, Any]],
) -> None:
    temporal = env_of(services["temporal"])
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgres"
    assert temporal["DB_PORT"] == "5432"
    init = (ROOT / "deploy" / "postgres-init.sh").read_text()
    roles = set(re.findall(r"CREATE ROLE (\w+)", init))
    databases = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", init))
    user = temporal["POSTGRES_USER"]
    assert user in roles
    assert databases[str(temporal["DBNAME"])] == user
    assert databases[str(temporal["VISIBILITY_DBNAME"])] == user
    crier_url = urlsplit(resolve(str(env_of(services["api"])["CRIER_DATABASE_URL"]), filled_env()))
    assert crier_url.hostname == "postgres" and crier_url.port == 5432
    assert crier_url.username in roles
    assert databases[crier_url.path.lstrip("/")] == crier_url.username
    assert crier_url.password == filled_env()["POSTGRES_CRIER_PASSWORD"]
    assert temporal["POSTGRES_PWD"] == env_of(services["postgres"])["POSTGRES_TEMPORAL_PASSWORD"]
    for host_path in bind_mounts(services):
        assert (ROOT / host_path).exists(), f"{host_path} is mounted but missing"
    dynamic = str(temporal["DYNAMIC_CONFIG_FILE_PATH"]).removeprefix("config/dynamicconfig/")
    assert (ROOT / "deploy" / "temporal" / "dynamicconfig" / dynamic).is_file()


def test_env_example_names_every_variable_the_file_reads() -> None:
    example = env_example()
    active = env_example_active()
    values = [text.replace("$$", "") for text in strings_in(load_compose())]
    interpolations = [match for text in values for match in INTERPOLATION.finditer(text)]
    assert len(interpolations) > 10
    for match in interpolations:
        name, op, arg = match["name"], match["op"], match["arg"]
        assert name in example, f"deploy/env.example does not mention {name}"
        if op in (":?", "?"):
            assert active.get(name) == "", f"{name} is required: an empty {name}= line, no value"
        if op in (":-", "-"):
            assert active.get(name) == arg, f"{name}: env.example and the compose default differ"
    # The optional settings passed through (no value) are documented too.
    for key, value in load_compose()["x-crier-env"].items():
        if value is None:
            assert key in example, f"deploy/env.example does not mention {key}"


def test_the_compose_environment_starts_crier_in_production(
    monkeypatch: pytest.MonkeyPatch, services: dict[str, dict[str, Any]]
) -> None:
    """With .env filled as deploy/env.example says, each crier process's settings load in
    production (which refuses development secrets) and its keys open the vault and codec."""
    filled = filled_env()
    assert filled["CRIER_TOKEN_KEYS"] and filled["POSTGRES_CRIER_PASSWORD"]
    for name in CRIER_SERVICES:
        for key in [key for key in os.environ if key.startswith("CRIER_")]:
            monkeypatch.delenv(key)
        for key, value in env_of(services[name]).items():
            if value is not None:
                monkeypatch.setenv(key, resolve(value, filled))
        settings = Settings(_env_file=None)
        assert settings.env == "production"
        assert settings.database_url.startswith("postgresql://crier:")
        Vault.from_settings(settings)
        codec = EncryptionCodec.from_settings(settings)
        assert codec is not None
        assert len(base64.urlsafe_b64decode(settings.payload_keys[0].get_secret_value())) == 32
    with pytest.raises(KeyError, match="CRIER_TOKEN_KEYS"):
        resolve(str(services["api"]["environment"]["CRIER_TOKEN_KEYS"]), {})


def test_the_image_runs_crier_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert stages, "no FROM"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", dockerfile, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base[1])
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0")), "the image must not run as root"
    assert re.search(r'^ENTRYPOINT \["crier"\]$', dockerfile, re.MULTILINE)
    installs = re.findall(r"pip install (\S+)", dockerfile)
    assert installs == ["."], "the package alone: no test extras in the image"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".git", "tests", ".crier"):
        assert entry in ignored, f".dockerignore should leave out {entry}"
