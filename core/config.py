"""One settings object, read from `CRIER_*` environment variables (and `.env`)."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from limits import parse_many
from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Development-only defaults. Outside development they are refused (see `_refuse_dev_secrets`),
# so a production deploy cannot silently run on a value that is printed in this file.
DEV_SANDBOX_SECRET = "crier-dev-sandbox-secret"
# Secrets set by hand (session, codec token) must be at least this long: 32 characters of
# token_urlsafe are 192 bits.
MIN_SECRET_CHARS = 32

mode_log = logging.getLogger("crier.mode")


class OAuthClientSettings(BaseModel):
    client_id: str
    client_secret: SecretStr


class SeedVariables(BaseSettings):
    """The deploy-time variables the seed systems document (seed 001's guide, seed 002's skill),
    read under their own names so that an operator coming from one is heard rather than
    ignored (issue 21 item 5). `Settings` takes each as the crier setting it means, refuses a
    disagreement with that setting, and says which one has no meaning here."""

    # No prefix: these are the seeds' spellings. Empty counts as unset, as compose passes a
    # listed variable nobody filled.
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    social_token_key: SecretStr | None = None  # seed 001: encrypts stored tokens
    encryption_key: SecretStr | None = None  # seed 002: the same, a Fernet key
    postforme_api_key: SecretStr | None = None  # seed 002
    late_api_key: SecretStr | None = None  # seed 002
    meta_app_id: str | None = None  # seed 001: the Meta app (Pages and Instagram Graph)
    meta_app_secret: SecretStr | None = None
    linkedin_client_id: str | None = None  # seed 001
    linkedin_client_secret: SecretStr | None = None
    social_oauth_redirect_base: str | None = None  # seed 001: where OAuth callbacks land
    cron_secret: SecretStr | None = None  # seed 001: guards its cron endpoint


# The key under which the seeds' variables reach Settings' validation (never a field: the
# settings table in docs/operations.md lists every field as a CRIER_ name).
SEED_VARIABLES = "seed_variables"


class SeedVariablesSource(PydanticBaseSettingsSource):
    """Reads `SeedVariables` from the environment and from the same env file as crier's own
    settings (so `Settings(_env_file=None)` reads no file for either)."""

    def __init__(self, settings_cls: type[BaseSettings], dotenv: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._env_file = dotenv.env_file if isinstance(dotenv, DotEnvSettingsSource) else None
        self._encoding = (
            dotenv.env_file_encoding if isinstance(dotenv, DotEnvSettingsSource) else None
        )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # no field of Settings comes from here

    def __call__(self) -> dict[str, Any]:
        seeds = SeedVariables(_env_file=self._env_file, _env_file_encoding=self._encoding)
        return {SEED_VARIABLES: seeds} if seeds.model_fields_set else {}


class Settings(BaseSettings):
    # hide_input_in_errors: a refusal to start names the problem, never the values given
    # (they are secrets: pydantic would print the start of each).
    model_config = SettingsConfigDict(
        env_prefix="CRIER_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Fail closed: a process nobody configured runs as production, which refuses to start
    # without its secrets, rather than as development, which would allow private webhook and
    # media destinations and generate keys on local disk. `crier dev`, `make dev` and the
    # tests set development (or test) explicitly.
    env: Literal["development", "test", "production"] = "production"
    data_dir: Path = Path(".crier")
    database_url: str = ""  # empty: a SQLite file under data_dir

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "crier-publish"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # Processes started by `crier dev`
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8100
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    # The sandbox every `sk_test_` key and sandbox account talks to.
    sandbox_url: str = "http://127.0.0.1:8100"
    sandbox_secret: SecretStr = SecretStr(DEV_SANDBOX_SECRET)
    dev_api_key: SecretStr = SecretStr("sk_test_demo")
    # The OAuth app the sandbox knows; sandbox accounts connect with it.
    sandbox_client_id: str = "crier-sandbox"
    sandbox_client_secret: SecretStr = SecretStr("crier-sandbox-client-secret")

    # Connecting accounts (OAuth). Live apps' credentials, as JSON in CRIER_OAUTH_CLIENTS:
    # {"x": {"client_id": "...", "client_secret": "..."}, "facebook": {...}}
    oauth_clients: dict[str, OAuthClientSettings] = Field(default_factory=dict)
    # Where browsers reach this API; OAuth callbacks land on
    # {public_api_url}/v1/oauth/{platform}/callback.
    public_api_url: str = "http://127.0.0.1:8000"
    oauth_state_ttl: timedelta = timedelta(minutes=10)  # a connect link's life
    connection_choice_ttl: timedelta = timedelta(minutes=30)  # to choose pages after consent
    # Refresh a token that expires sooner than this before publishing with it.
    token_refresh_margin: timedelta = timedelta(minutes=10)
    # The token-health schedule: how often, and how far ahead it refreshes long-lived tokens.
    token_health_interval: timedelta = timedelta(hours=6)
    token_health_refresh_window: timedelta = timedelta(days=7)
    # The metrics schedule (issue 23): how often it looks for readings due (a post at +1 h,
    # +24 h, +7 d; an account's insights daily), and how many past days an account's
    # insights are filled back to.
    metrics_interval: timedelta = timedelta(minutes=10)
    metrics_account_days: int = Field(default=7, ge=1, le=90)
    # The low-engagement alert: a post whose engagement (likes + comments + shares) at 24 h
    # is below this share of the median of the account's last `metrics_anomaly_posts` posts
    # at 24 h; not judged before `metrics_anomaly_min_posts` of them exist. 0 turns it off.
    metrics_anomaly_ratio: float = Field(default=0.25, ge=0, le=1)
    metrics_anomaly_posts: int = Field(default=10, ge=1, le=100)
    metrics_anomaly_min_posts: int = Field(default=5, ge=1, le=100)

    # Token vault: Fernet keys, the first encrypts, all decrypt. Empty in development means
    # a key generated once and kept in data_dir/token.keys.
    token_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # Temporal payload encryption: AES-256 keys, urlsafe base64, comma-separated; the first
    # encrypts, all decrypt. Empty in development means one kept in data_dir/payload.keys.
    payload_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # The payload codec (POST /codec/decode, /codec/encode) is for operators: it opens every
    # tenant's payloads. Callers send `Authorization: Bearer <codec_token>` (the Temporal CLI's
    # --codec-auth, or an authenticating proxy in front of the Web UI); tenants' API keys are
    # never accepted. Unset: the codec answers 503. At least 32 characters.
    codec_token: SecretStr | None = None
    # Development only (production refuses it): also let in a request from a loopback address
    # whose Origin is temporal_ui_url's, as the dev server's Web UI sends no credential.
    # `crier dev` turns it on for its stack.
    codec_dev_origin: bool = False
    # The admin API (/admin/v1: plans, tenants' plans and approval settings) is for operators,
    # as `crier plans` and `crier tenants` are: callers send `Authorization: Bearer
    # <admin_token>`; tenants' API keys are never accepted. Unset (or empty): the admin API is
    # off and answers 404 to everything, so a deployment has it only when it asks for it. At
    # least 32 characters.
    admin_token: SecretStr | None = None

    # Reviewer pages (/ui): signs their session cookies and review links; at least 32
    # characters. Empty in development means one kept in data_dir/session.key.
    session_secret: SecretStr | None = None
    review_link_ttl: timedelta = timedelta(hours=24)  # a review link's default life
    review_session_ttl: timedelta = timedelta(hours=12)  # a signed-in page session's life

    # Live platform endpoints (sandbox accounts use sandbox_url instead).
    facebook_graph_url: str = "https://graph.facebook.com"
    facebook_graph_version: str = "v23.0"
    linkedin_api_url: str = "https://api.linkedin.com"
    x_api_url: str = "https://api.x.com"
    bluesky_pds_url: str = "https://bsky.social"  # accounts on other PDSes: issue 5's connect
    threads_graph_url: str = "https://graph.threads.net"  # the provider adds /v1.0
    google_business_api_url: str = "https://mybusiness.googleapis.com"  # the provider adds /v4
    pinterest_api_url: str = "https://api.pinterest.com"  # the provider adds /v5
    tiktok_api_url: str = "https://open.tiktokapis.com"  # the provider adds /v2
    youtube_api_url: str = "https://www.googleapis.com"  # the provider adds /youtube/v3 paths

    # Aggregators (seed 002): where they live, and the deployment's own keys, tried after a
    # tenant's own keys when a tenant routes a platform through them.
    postforme_url: str = "https://api.postforme.dev/v1"
    late_url: str = "https://getlate.dev/api/v1"
    postforme_api_key: SecretStr | None = None
    late_api_key: SecretStr | None = None

    # The worker's Prometheus endpoint (Temporal's runtime metrics and crier's own), e.g.
    # "0.0.0.0:9464"; empty: none.
    metrics_bind: str = ""
    # The API's own Prometheus endpoint, GET /metrics on the API port (no API key: keep it to
    # the scrape network).
    api_metrics: bool = True

    # OpenTelemetry traces of Temporal calls, workflows and activities (core/tracing.py).
    # Empty exporter: no tracing. otel_endpoint is the full OTLP/HTTP traces URL, e.g.
    # "http://collector:4318/v1/traces"; empty: the standard OTEL_EXPORTER_OTLP_* variables,
    # else http://localhost:4318/v1/traces.
    otel_exporter: Literal["", "otlp", "console"] = ""
    otel_endpoint: str = ""
    otel_service_name: str = "crier"

    # Delivery
    http_timeout_seconds: float = 30.0
    # The worker's connections to the platforms: in all, and to any one host (one platform).
    http_connections: int = Field(default=200, ge=1)
    http_connections_per_host: int = Field(default=20, ge=1)
    publish_max_attempts: int = 5
    publish_initial_interval: timedelta = timedelta(minutes=1)
    publish_backoff: float = 3.0
    publish_max_interval: timedelta = timedelta(hours=1)
    publish_start_to_close: timedelta = timedelta(minutes=2)
    # How long one try's platform calls may take, from its ledger entry: shorter than the
    # activity's start-to-close, so a try that timed out has stopped sending before the next
    # one asks the platform what happened.
    publish_call_budget: timedelta = timedelta(seconds=60)
    rate_limit_default_wait: timedelta = timedelta(minutes=15)
    # A target that wakes later than this after its time ends `missed` (seed 000: 10 min).
    missed_grace_period: timedelta = timedelta(minutes=10)
    # Targets wake this long before their time, get ready, and are fired by the worker at the
    # exact instant (issue 10): long enough for a burst's workflows to wake and hand their
    # publishes over before it. Zero: wake at the time itself.
    publish_lead: timedelta = timedelta(seconds=30)
    # Activities one worker runs at once on the task queue: publishes, takeovers, lookups,
    # records. This is the back-pressure (issue 16): work beyond it waits in Temporal's queue,
    # where no timeout runs, instead of starting at once and starving in the worker until it
    # times out. Sized from the full chaos run (bench/README.md, "Back-pressure"): 50 and 100
    # served it alike (p50 lateness 41 s and 40-48 s), 200 collapsed (286 s); 50 keeps a
    # margin of four below the collapse.
    worker_max_activities: int = Field(default=50, ge=1)
    # Publishes waiting in the worker for their exact time (asyncio tasks, asleep) poll a
    # queue of their own, `{task_queue}.fires`, so that a burst of them never takes the slots
    # the work above needs. A burst larger than this waits in that queue and fires late.
    worker_max_fires: int = Field(default=5000, ge=1)
    # How long a workflow task waits for the worker that ran the workflow last (its cache)
    # before any worker may take it. After a worker dies, its deliveries wait this long.
    worker_sticky_timeout: timedelta = timedelta(seconds=2)
    # Media that must encode before publishing (reels, videos): how long to wait for it, and
    # how often to look when the platform does not say.
    media_ready_deadline: timedelta = timedelta(minutes=15)
    media_poll_interval: timedelta = timedelta(minutes=1)
    # Media URLs are fetched when a post is created or its media edited, to check them
    # against each platform's rules; these bound what one URL may cost (MB as 10^6 bytes).
    media_fetch_timeout_seconds: float = 10.0
    media_fetch_max_bytes: int = 50_000_000
    # Hostile media must not take the API down (issue 18): distinct media URLs one request may
    # name; fetches one tenant may have running at once in one API process (its other URLs
    # wait); images larger than this many pixels are refused from their header, undecoded
    # (Pillow's own guard refuses above ~89 million whatever this says); and images decoded at
    # once per API process, each taking up to width x height x 4 bytes.
    media_urls_per_request: int = Field(default=20, ge=1)
    media_fetches_per_tenant: int = Field(default=4, ge=1)
    media_max_pixels: int = Field(default=40_000_000, ge=1)
    media_decode_workers: int = Field(default=2, ge=1)
    # Media the worker downloads at publish time to upload to a platform (providers/kit/
    # media.py): how long one file may take, within the try's publish_call_budget, and the
    # most bytes of one file held in memory, whatever the platform's own limit would allow.
    media_publish_timeout_seconds: float = Field(default=45.0, gt=0)
    media_publish_max_bytes: int = Field(default=1_000_000_000, ge=1)
    # Media URLs (at create time and at publish time) on private, loopback and link-local
    # addresses: None allows them in development only, where the sandbox serves its samples.
    media_private_destinations: bool | None = None

    # Webhooks. One delivery retries with backoff for about ten hours by default (30 s, 1 m,
    # 2 m, … capped at 2 h, 12 attempts); an endpoint whose deliveries fail every retry this
    # many times in a row is disabled and the tenant told.
    webhook_timeout: timedelta = timedelta(seconds=10)
    webhook_max_attempts: int = 12
    webhook_initial_interval: timedelta = timedelta(seconds=30)
    webhook_backoff: float = 2.0
    webhook_max_interval: timedelta = timedelta(hours=2)
    webhook_disable_after: int = 5
    # Endpoints one tenant may have in each mode (sandbox, live): each event is one delivery
    # per endpoint, so this bounds what one event can fan out to (review S6).
    webhook_max_endpoints: int = Field(default=10, ge=1)
    # Deliveries one worker sends at once. They poll a queue of their own,
    # `{task_queue}.webhooks`, so receivers that answer slowly or never hold only these slots,
    # never the publishing work's; each holds one for at most CRIER_WEBHOOK_TIMEOUT (and the
    # database work around it). Beyond this, deliveries wait in that queue and go out late.
    worker_max_webhooks: int = Field(default=20, ge=1)
    # Private, loopback and link-local destinations: None allows them in development only.
    webhook_private_destinations: bool | None = None
    # How often the worker's relay looks for new events to deliver, and the API's event
    # stream for new events to send.
    event_poll_interval: timedelta = timedelta(milliseconds=500)
    # The event stream (GET /v1/events): how often an open stream looks at its key again (a
    # revoked key's stream ends within this; at most 30 s), how many streams one key may hold
    # open in one API process, and how long one stream lives before it ends and the client
    # resumes with Last-Event-ID.
    stream_recheck_seconds: float = Field(default=15, gt=0, le=30)
    streams_per_key: int = Field(default=5, ge=1)
    stream_max_life_seconds: float = Field(default=3600, gt=0)

    # API limits (S5). Requests per API key and per tenant, in the `limits` notation
    # ("120/minute", or several: "20/second;120/minute"); a request over either is a 429.
    rate_limit_per_key: str = "120/minute"
    rate_limit_per_tenant: str = "600/minute"
    # Where the counts live. "redis://host:6379/0": one count shared by every API process, as
    # a deployment with several needs. "memory://": each process counts alone (one process
    # only). Empty: memory in development and test; production refuses to start without an
    # explicit value, so several processes never each allow the full rate by accident.
    rate_limit_storage: str = ""
    # Names the counts in the store, so deployments (or tests) sharing one Redis never mix.
    rate_limit_key_prefix: str = "crier"
    # Longer than this, the shared store is treated as down: each process then counts on its
    # own (api/rate_limits.py) rather than making every request wait on it.
    rate_limit_storage_timeout_seconds: float = Field(default=0.5, gt=0)
    # Request bodies above this many bytes are refused with 413 (the codec has its own cap).
    max_request_bytes: int = Field(default=1_000_000, ge=1)

    # The seeds' variables this process read (see SeedVariables): those taken as a crier
    # setting, and those crier has no use for. `log_mode` says both as the process starts.
    _seed_variables_taken: list[str] = PrivateAttr(default_factory=list)
    _seed_variables_unused: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        seeds = SeedVariablesSource(settings_cls, dotenv_settings)
        return init_settings, env_settings, dotenv_settings, file_secret_settings, seeds

    @field_validator("token_keys", "payload_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        # Comma-separated in the environment: CRIER_TOKEN_KEYS=new_key,old_key
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("rate_limit_per_key", "rate_limit_per_tenant")
    @classmethod
    def _parse_rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                "a rate is a count per period, as '120/minute' or '20/second;120/minute'"
            ) from None
        return value

    @field_validator("codec_token", "session_secret", "admin_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `CRIER_CODEC_TOKEN=` in an env file (or compose passing an empty one) means "none".
        return None if value == "" else value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'crier.db'}"

    @property
    def is_development(self) -> bool:
        return self.env in ("development", "test")

    @property
    def webhooks_may_reach_private(self) -> bool:
        if self.webhook_private_destinations is not None:
            return self.webhook_private_destinations
        return self.is_development

    @property
    def media_may_reach_private(self) -> bool:
        if self.media_private_destinations is not None:
            return self.media_private_destinations
        return self.is_development

    # First of the model validators: those after it (production's required keys among them)
    # then see a seed's variable already taken as the crier setting it means.
    @model_validator(mode="wrap")
    @classmethod
    def _take_seed_variables(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings]
    ) -> Settings:
        seeds = data.get(SEED_VARIABLES) if isinstance(data, dict) else None
        settings = handler(data)
        if isinstance(seeds, SeedVariables):
            _take_seed_variables(settings, seeds)
        return settings

    @model_validator(mode="after")
    def _call_budget_fits(self) -> Settings:
        if self.publish_call_budget >= self.publish_start_to_close:
            raise ValueError(
                "CRIER_PUBLISH_CALL_BUDGET must be shorter than CRIER_PUBLISH_START_TO_CLOSE: a "
                "try must stop sending before the next one may start"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production":
            problems = []
            if self.sandbox_secret.get_secret_value() == DEV_SANDBOX_SECRET:
                problems.append("CRIER_SANDBOX_SECRET is the development default")
            if not self.token_keys:
                problems.append("CRIER_TOKEN_KEYS is empty")
            if not self.payload_keys:
                problems.append("CRIER_PAYLOAD_KEYS is empty")
            if self.session_secret is None:
                problems.append("CRIER_SESSION_SECRET is not set")
            if not self.database_url:
                problems.append("CRIER_DATABASE_URL is not set")
            if self.codec_dev_origin:
                problems.append("CRIER_CODEC_DEV_ORIGIN lets the codec in without a credential")
            if not self.rate_limit_storage:
                problems.append(
                    "CRIER_RATE_LIMIT_STORAGE is not set (redis://… shared by every API "
                    "process, or memory:// for a single process)"
                )
            if problems:
                raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        # In every mode: a short secret set by hand is a mistake whatever the mode, and the
        # values generated for development are long enough.
        problems = [
            f"{name} is shorter than {MIN_SECRET_CHARS} characters"
            for name, secret in (
                ("CRIER_SESSION_SECRET", self.session_secret),
                ("CRIER_CODEC_TOKEN", self.codec_token),
                ("CRIER_ADMIN_TOKEN", self.admin_token),
            )
            if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_CHARS
        ]
        for number, key in enumerate(self.payload_keys, start=1):
            if not _is_aes256_key(key.get_secret_value()):
                problems.append(
                    f"CRIER_PAYLOAD_KEYS: key {number} is not 32 bytes in urlsafe base64"
                )
        if problems:
            raise ValueError("refusing to start: " + "; ".join(problems))
        return self


# Seed 002's credential keys and crier's vault keys are both Fernet keys.
FERNET_KEY_HINT = "32 bytes in urlsafe base64, as Fernet.generate_key() makes"
# The Meta app serves Facebook Login, through which crier connects both Facebook Pages and
# Instagram business accounts (providers/connect/instagram.py). Threads is not among them: it
# has its own OAuth and its own app id and secret (the Threads use case's, in Meta's dashboard).
SEED_APPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("META_APP_ID", "META_APP_SECRET", ("facebook", "instagram")),
    ("LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET", ("linkedin",)),
)


def _take_seed_variables(settings: Settings, seeds: SeedVariables) -> None:
    """Each seed variable becomes the crier setting it means, where that setting is not set.
    Set both and they must agree: otherwise which one wins would be a silent choice. Messages
    name variables, never their values."""
    taken: list[str] = []
    problems = [
        *_take_token_key(settings, seeds, taken),
        *_take_aggregator_keys(settings, seeds, taken),
        *_take_apps(settings, seeds, taken),
        *_take_redirect_base(settings, seeds, taken),
    ]
    if problems:
        raise ValueError("refusing to start: " + "; ".join(problems))
    settings._seed_variables_taken = taken
    # Warned, not refused: the secret guarded the seed's cron endpoint, and crier has none
    # (its timers and the token-health schedule run in Temporal), so nothing is left open by
    # not reading it, and an env file shared with the seed during a migration should not stop
    # crier.
    settings._seed_variables_unused = (
        ["CRON_SECRET (crier has no cron endpoint: Temporal runs its timers and schedules)"]
        if seeds.cron_secret is not None
        else []
    )


def _take_token_key(settings: Settings, seeds: SeedVariables, taken: list[str]) -> list[str]:
    # Only a Fernet key is taken; anything else is refused, not derived from. Deriving one
    # would not let crier read what the seed encrypted (another format), would use the seed's
    # key material in a second scheme, and would hide a weak passphrase behind a well-formed
    # key; a new key is one command.
    keys = [
        (name, value.get_secret_value())
        for name, value in (
            ("SOCIAL_TOKEN_KEY", seeds.social_token_key),
            ("ENCRYPTION_KEY", seeds.encryption_key),
        )
        if value is not None
    ]
    problems = [
        f"{name} is set but is not a Fernet key ({FERNET_KEY_HINT}), which crier's token "
        f"vault needs: unset {name} and set CRIER_TOKEN_KEYS to a new key (crier could not "
        "read the tokens the seed encrypted either way)"
        for name, key in keys
        if not _is_fernet_key(key)
    ]
    if len(keys) == 2 and keys[0][1] != keys[1][1]:
        problems.append(
            "SOCIAL_TOKEN_KEY and ENCRYPTION_KEY are both set and differ: each would be "
            "CRIER_TOKEN_KEYS; keep one"
        )
    if not keys or problems:
        return problems
    name, key = keys[0]
    own = [k.get_secret_value() for k in settings.token_keys]
    if not own:
        settings.token_keys = [SecretStr(key)]
        taken.append(f"{name} as CRIER_TOKEN_KEYS")
    elif key not in own:
        # Any of the vault's keys agrees, not only the first: after a rotation the old key
        # still opens what it encrypted, and restarting must not fail on it.
        problems.append(
            f"{name} and CRIER_TOKEN_KEYS are both set and {name} is not one of "
            f"CRIER_TOKEN_KEYS: unset {name}"
        )
    return problems


def _take_aggregator_keys(settings: Settings, seeds: SeedVariables, taken: list[str]) -> list[str]:
    problems = []
    for seed_name, field in (
        ("POSTFORME_API_KEY", "postforme_api_key"),
        ("LATE_API_KEY", "late_api_key"),
    ):
        given: SecretStr | None = getattr(seeds, field)
        own: SecretStr | None = getattr(settings, field)
        if given is None:
            continue
        if own is None or not own.get_secret_value():
            setattr(settings, field, given)
            taken.append(f"{seed_name} as CRIER_{field.upper()}")
        elif own.get_secret_value() != given.get_secret_value():
            problems.append(
                f"{seed_name} and CRIER_{field.upper()} are both set and differ: keep one"
            )
    return problems


def _take_apps(settings: Settings, seeds: SeedVariables, taken: list[str]) -> list[str]:
    problems = []
    clients = dict(settings.oauth_clients)
    for id_name, secret_name, platforms in SEED_APPS:
        client_id: str | None = getattr(seeds, id_name.lower())
        secret: SecretStr | None = getattr(seeds, secret_name.lower())
        if client_id is None and secret is None:
            continue
        if client_id is None or secret is None:
            given, missing = (secret_name, id_name) if client_id is None else (id_name, secret_name)
            problems.append(f"{given} is set without {missing}: an app needs both")
            continue
        for platform in platforms:
            own = clients.get(platform)
            if own is None:
                clients[platform] = OAuthClientSettings(client_id=client_id, client_secret=secret)
                taken.append(f"{id_name} and {secret_name} as CRIER_OAUTH_CLIENTS' {platform}")
                continue
            if own.client_id != client_id:
                problems.append(
                    f"{id_name} and CRIER_OAUTH_CLIENTS' {platform} client_id are both set and "
                    "differ: keep one"
                )
            if own.client_secret.get_secret_value() != secret.get_secret_value():
                problems.append(
                    f"{secret_name} and CRIER_OAUTH_CLIENTS' {platform} client_secret are both "
                    "set and differ: keep one"
                )
    settings.oauth_clients = clients
    return problems


def _take_redirect_base(settings: Settings, seeds: SeedVariables, taken: list[str]) -> list[str]:
    # The seed's base for its OAuth redirect URIs is where browsers reach the service: crier's
    # public_api_url. Its callbacks are {base}/v1/oauth/{platform}/callback, not the seed's
    # paths, so the apps at Meta and LinkedIn must list these.
    base = seeds.social_oauth_redirect_base
    if base is None:
        return []
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [
            "SOCIAL_OAUTH_REDIRECT_BASE is not an absolute http(s) URL: it would be "
            "CRIER_PUBLIC_API_URL, where OAuth callbacks land"
        ]
    # public_api_url has a default, so whether it was given is in the fields set.
    if "public_api_url" not in settings.model_fields_set:
        settings.public_api_url = base.rstrip("/")
        taken.append("SOCIAL_OAUTH_REDIRECT_BASE as CRIER_PUBLIC_API_URL")
    elif settings.public_api_url.rstrip("/") != base.rstrip("/"):
        return [
            "SOCIAL_OAUTH_REDIRECT_BASE and CRIER_PUBLIC_API_URL are both set and differ: keep one"
        ]
    return []


def _is_fernet_key(value: str) -> bool:
    try:
        Fernet(value.encode())
    except ValueError:  # cryptography's own check: 32 bytes, urlsafe base64
        return False
    return True


def _is_aes256_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def log_mode(process: str, settings: Settings) -> None:
    """One line as each process starts saying which mode it runs in, so a deployment that
    runs as development by mistake says so where its operator looks first; and which of the
    seeds' variables it read, and which it has no use for."""
    if settings._seed_variables_taken:
        mode_log.info(
            "crier %s read the seed's variables %s",
            process,
            ", ".join(settings._seed_variables_taken),
        )
    for unused in settings._seed_variables_unused:
        mode_log.warning("crier %s ignores %s; unset it", process, unused)
    if settings.env == "production":
        mode_log.info("crier %s starting in production mode", process, extra={"mode": "production"})
    else:
        mode_log.warning(
            "crier %s starting in %s mode: private destinations are allowed and missing keys "
            "are generated under %s; never expose it (CRIER_ENV=production for a deployment)",
            process,
            settings.env,
            settings.data_dir,
            extra={"mode": settings.env},
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
