"""Typed settings: a YAML config file plus ``CLAIMS_*`` environment overrides, built by a factory.

Precedence, highest first: ``CLAIMS_*`` environment variables, the YAML file (``CLAIMS_CONFIG``, default
``./claims.yaml``), built-in defaults (the offline model). Models use LiteLLM proxy's ``model_list`` shape;
secrets stay as ``os.environ/VAR`` references and are resolved only when a call is made. A secret setting's
own override (``CLAIMS_WEBHOOK_SECRET=whsec_...``) holds the secret itself, so it is read as a reference to
that variable (``os.environ/CLAIMS_WEBHOOK_SECRET``): the value never enters the settings object.
``Settings.unset_references`` lists the references to unset or empty variables, for the commands that start the
service to refuse at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from service.errors import ConfigError, validation_summary
from service.offline import OFFLINE_MODEL

DEFAULT_CONFIG_PATH = Path("claims.yaml")
SECRET_REFERENCE = "os.environ/"  # noqa: S105 -- the prefix of a reference to a secret, not a secret
SECRET_PARAM = re.compile(r"(key|token|secret|password|credential)", re.IGNORECASE)
TOKEN_BUDGET = re.compile(r"_tokens$", re.IGNORECASE)  # max_tokens, max_completion_tokens: counts, not secrets


def is_secret_param(key: str) -> bool:
    """Say whether a litellm param holds a secret (``api_key``, ``aws_session_token``), not ``max_tokens``."""
    return bool(SECRET_PARAM.search(key)) and not TOKEN_BUDGET.search(key)


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
PLACEHOLDER_SECRETS = frozenset({"", "none", "empty", "no-key", "sk-no-key-required", "not-needed"})
StructuredOutput = Literal["json_schema", "tool", "json_object", "prompt"]


class ModelEntry(BaseModel):
    """One model alias, in LiteLLM proxy's ``model_list`` shape, plus our per-model knobs."""

    model_config = ConfigDict(extra="forbid")

    model_name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
    litellm_params: dict[str, Any]
    structured_output: StructuredOutput | None = Field(
        default=None, description="How to ask for JSON; null picks from litellm's capability data."
    )
    max_concurrency: Annotated[int, Field(ge=1, le=256)] | None = None

    @field_validator("litellm_params")
    @classmethod
    def _names_a_model(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse params without a ``model`` string."""
        if not isinstance(params.get("model"), str) or not params["model"]:
            raise ValueError("litellm_params.model is required, e.g. openai/gpt-4o-mini")
        return params

    @field_validator("litellm_params")
    @classmethod
    def _limits_are_positive_integers(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse an ``rpm`` or ``tpm`` that is not a positive whole number (it would fail every request)."""
        for key in ("rpm", "tpm"):
            value = params.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
                raise ValueError(f"litellm_params.{key} must be a positive whole number, not {value!r}")
            params[key] = int(value)
        return params

    @field_validator("litellm_params")
    @classmethod
    def _no_literal_secrets(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse a secret written into the config: it must be an ``os.environ/VAR`` reference."""
        for key, value in params.items():
            if not is_secret_param(key) or not isinstance(value, str):
                continue
            if value.startswith(SECRET_REFERENCE) or value.strip().lower() in PLACEHOLDER_SECRETS:
                continue
            raise ValueError(
                f"litellm_params.{key} holds a literal secret; keep it in the environment and write "
                f"{key}: os.environ/YOUR_VARIABLE"
            )
        return params

    @property
    def model(self) -> str:
        """Return the provider model string, e.g. ``openai/gpt-4o-mini``."""
        return str(self.litellm_params["model"])


FACTCHECK_EMBEDDER_KEYWORDS = ("auto", "offline", "none")  # factcheck_embedder's values other than a model alias
Scope = Literal["extract", "jobs", "read", "factchecks", "admin"]
KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class ApiKey(BaseModel):
    """A client's API key, as the config holds it: a name, the key's sha256 (never the key), scopes, quotas."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    hash: Annotated[str, Field(description="sha256:<hex of the key>, as `claims keys new` prints it.")]
    scopes: Annotated[list[Scope], Field(min_length=1)]
    rpm: Annotated[int, Field(ge=1)] | None = Field(default=None, description="Requests a minute.")
    tokens_per_day: Annotated[int, Field(ge=1)] | None = Field(default=None, description="Model tokens a day.")
    cost_usd_per_day: Annotated[float, Field(gt=0)] | None = Field(default=None, description="Model cost a day.")
    revoked: bool = Field(default=False, description="Refuse the key (401), saying it was revoked.")

    @field_validator("hash")
    @classmethod
    def _is_a_sha256(cls, value: str) -> str:
        """Refuse anything but ``sha256:<64 hex digits>`` (a key pasted in plain text is refused, not echoed)."""
        if not KEY_HASH.fullmatch(value):
            raise ValueError("hash must be sha256:<64 lowercase hex digits> (claims keys new prints it); never the key")
        return value


def _default_data_dir() -> Path:
    """Return where jobs persist by default: the user's data directory (``$XDG_DATA_HOME``, else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "claim-extractor"


def read_secret_reference(reference: str) -> str | None:
    """Return the value an ``os.environ/VAR`` reference names: ``VAR``, else the file ``VAR_FILE`` names."""
    variable = reference.removeprefix(SECRET_REFERENCE)
    if variable in os.environ:
        return os.environ[variable].strip()  # a secret pasted with a newline or a space is the same secret
    secret_file = os.environ.get(f"{variable}_FILE")
    if secret_file and Path(secret_file).is_file():
        return Path(secret_file).read_text(encoding="utf-8").strip()
    return None


def environment_name(variable: str) -> str:
    """Return how ``variable`` is spelled in the environment (pydantic reads ``CLAIMS_*`` in any case)."""
    if variable in os.environ:
        return variable
    return next((name for name in os.environ if name.lower() == variable.lower()), variable)


class _SecretOverridesAsReferences(PydanticBaseSettingsSource):
    """The ``CLAIMS_*`` environment, with a secret setting's literal value read as a reference to its variable."""

    SECRET_SETTINGS = ("webhook_secret",)

    def __init__(self, settings_cls: type[BaseSettings], environment: PydanticBaseSettingsSource) -> None:
        """Wrap the environment source of ``settings_cls``."""
        super().__init__(settings_cls)
        self._environment = environment

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Read one field as the wrapped environment does."""
        return self._environment.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        """Return the environment's settings, each secret's own variable named instead of copied."""
        values = self._environment()
        prefix = str(self.settings_cls.model_config.get("env_prefix", ""))
        for name in self.SECRET_SETTINGS:
            value = values.get(name)
            if isinstance(value, str) and not value.strip():  # CLAIMS_WEBHOOK_SECRET= (compose's ${VAR:-}): unset
                del values[name]
            elif isinstance(value, str) and not value.startswith(SECRET_REFERENCE):
                values[name] = SECRET_REFERENCE + environment_name(f"{prefix}{name}".upper())
        return values


def _offline_default() -> list[ModelEntry]:
    """Return the built-in model list: the offline model as ``default``."""
    return [ModelEntry(model_name="default", litellm_params={"model": OFFLINE_MODEL})]


class Settings(BaseSettings):
    """Everything the service can be configured with; ``claims.example.yaml`` documents each key."""

    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="forbid", frozen=True)

    default_model: str = "default"
    models: list[ModelEntry] = Field(default_factory=_offline_default)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    prompt: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(@[1-9][0-9]*)?$")] = "extract_claims@1"
    prompts_dir: Path | None = None
    cache_enabled: bool = True
    cache_dir: Path = Path.home() / ".cache" / "claim-extractor"
    cache_size_limit_mb: Annotated[int, Field(ge=1)] = 1024
    max_article_chars: Annotated[int, Field(ge=1)] = 200_000
    max_html_chars: Annotated[int, Field(ge=1)] = 1_000_000
    chunk_tokens: Annotated[int, Field(ge=50)] = 1500
    context_sentences: Annotated[int, Field(ge=0, le=20)] = 3
    max_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    request_timeout_s: Annotated[float, Field(gt=0)] = 60.0
    retry_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    retry_max_wait_s: Annotated[float, Field(ge=0)] = 20.0
    retry_total_s: Annotated[float, Field(gt=0)] = 60.0
    repair_attempts: Annotated[int, Field(ge=0, le=5)] = 1
    request_header_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    request_body_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    shutdown_grace_s: Annotated[float, Field(ge=0)] = 30.0
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where jobs and their results persist.")
    job_workers: Annotated[int, Field(ge=0, le=256)] = 2
    job_max_articles: Annotated[int, Field(ge=1)] = 10_000
    job_max_body_mb: Annotated[int, Field(ge=1)] = 256
    job_retention_hours: Annotated[float, Field(gt=0)] = 168.0
    job_lease_s: Annotated[float, Field(gt=0)] = 30.0
    batch_poll_s: Annotated[float, Field(gt=0)] = Field(
        default=30.0, description="A batch-mode job's provider batch is first polled this long after it is sent."
    )
    batch_poll_max_s: Annotated[float, Field(gt=0)] = Field(
        default=600.0, description="The wait between polls doubles up to this (a batch takes up to 24 hours)."
    )
    webhook_secret: str | None = Field(default=None, description="A whsec_ secret, as os.environ/VAR.")
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    webhook_max_attempts: Annotated[int, Field(ge=1, le=20)] = 8
    webhook_retry_s: Annotated[float, Field(ge=0)] = 2.0
    webhook_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    faithfulness: Literal["drop", "warn", "off"] = Field(
        default="drop",
        description="A claim naming a number or name its chunk does not support: drop it, keep it with a warning, "
        "or do not check.",
    )
    default_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")] = Field(
        default="en",
        description="The language an article is read in when the request names none and its text is too short or "
        "mixed for the language to be detected.",
    )
    multilingual_checkworthiness: bool = Field(
        default=True,
        description="Where the multilingual extra is installed, the offline model scores check-worthiness with it "
        "(every language; Arabic, Dutch and Spanish with heads of their own; English and Spanish fused with the "
        "default model). It costs tens of milliseconds of CPU "
        "a claimed sentence; false keeps the default model alone, and non-English replies then say so in a warning.",
    )
    api_keys: list[ApiKey] = Field(default_factory=list)
    allow_anonymous: bool = False
    cors_origins: list[str] = Field(default_factory=list)
    log_format: Literal["text", "json"] = "text"
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis://, rediss:// or unix:// (or an os.environ/VAR reference to one): the job queue and "
        "store, the reply cache and the rate limits move onto this Redis, shared by every process. Never logged.",
    )
    cache_ttl_hours: Annotated[float, Field(gt=0)] = 720.0
    rate_limit_wait_s: Annotated[float, Field(ge=0)] = 90.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    match_factchecks: bool = Field(
        default=False,
        description="Match every claim against the fact-check archive when a request does not say "
        "(options.match_factchecks).",
    )
    factcheck_match_threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None,
        description="The score a fact-check must reach to be a claim's match; null: the calibrated default (0.5, "
        "chosen on train for F0.5). Higher marks fewer claims 'checked before', wrongly or rightly.",
    )
    factcheck_embedder: Annotated[str, Field(min_length=1)] = Field(
        default="auto",
        description="What embeds claims and fact-checks for matching beside BM25: auto (the multilingual extra's "
        "offline model where it is installed, else nothing), offline (that model; an error without the extra), "
        "none (lexical matching only), or the model_name of a configured embedding model (called through litellm). "
        "Changing it re-embeds the stored fact-checks once, at the next start.",
    )
    factcheck_max_body_mb: Annotated[int, Field(ge=1, le=1024)] = Field(
        default=32, description="The largest fact-check import body (POST /v1/factchecks), in MB; larger is a 413."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Let the environment override the config file, which arrives as init arguments."""
        return _SecretOverridesAsReferences(settings_cls, env_settings), init_settings

    @field_validator("webhook_secret")
    @classmethod
    def _secret_is_a_reference(cls, value: str | None) -> str | None:
        """Refuse a webhook secret written into the config: it must be an ``os.environ/VAR`` reference."""
        if value is not None and not value.startswith(SECRET_REFERENCE):
            raise ValueError(
                "webhook_secret must name where the secret is, e.g. os.environ/CLAIMS_WEBHOOK_SECRET, with "
                "CLAIMS_WEBHOOK_SECRET=whsec_... in the environment (claims webhooks secret makes one)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse a Redis URL of another scheme (the message never repeats the URL: it may hold a password)."""
        if value is None:
            return None
        if not value.get_secret_value().startswith((*REDIS_SCHEMES, SECRET_REFERENCE)):
            raise ValueError("redis_url must start with redis://, rediss:// or unix://, or be os.environ/VAR")
        return value

    @field_validator("cache_dir", "prompts_dir", "data_dir")
    @classmethod
    def _expand_home(cls, path: Path | None) -> Path | None:
        """Expand a leading ``~`` in configured paths."""
        return path.expanduser() if path is not None else None

    @model_validator(mode="after")
    def _aliases_are_consistent(self) -> Self:
        """Refuse duplicate aliases, an unknown default and fallbacks that name unknown aliases."""
        names = [entry.model_name for entry in self.models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"model_name must be unique; repeated: {', '.join(duplicates)}")
        key_names = [key.name for key in self.api_keys]
        repeated = sorted({name for name in key_names if key_names.count(name) > 1})
        if repeated:
            raise ValueError(f"api_keys names must be unique; repeated: {', '.join(repeated)}")
        if self.default_model not in names:
            raise ValueError(f"default_model {self.default_model!r} is not in models ({', '.join(names)})")
        if self.factcheck_embedder not in FACTCHECK_EMBEDDER_KEYWORDS and self.factcheck_embedder not in names:
            raise ValueError(
                f"factcheck_embedder {self.factcheck_embedder!r} is none of {', '.join(FACTCHECK_EMBEDDER_KEYWORDS)} "
                f"and no model_name in models ({', '.join(names)})"
            )
        for alias, chain in self.fallbacks.items():
            unknown = [name for name in [alias, *chain] if name not in names]
            if unknown:
                raise ValueError(f"fallbacks for {alias!r} name unknown aliases: {', '.join(unknown)}")
        return self

    def shared_redis_url(self) -> str | None:
        """Return the Redis URL to connect to (a reference resolved), or None when everything stays embedded."""
        if self.redis_url is None:
            return None
        value = self.redis_url.get_secret_value()
        if not value.startswith(SECRET_REFERENCE):
            return value
        resolved = read_secret_reference(value)
        if not resolved or not resolved.startswith(REDIS_SCHEMES):
            raise ConfigError(f"redis_url names {value}, which holds no redis://, rediss:// or unix:// URL")
        return resolved

    def references(self) -> list[tuple[str, str]]:
        """Return every ``os.environ/VAR`` reference the settings hold, as (where it is written, the reference)."""
        found = [(f"models[{e.model_name}].litellm_params.{key}", value) for e in self.models
                 for key, value in e.litellm_params.items() if isinstance(value, str)]  # fmt: skip
        found.append(("webhook_secret", self.webhook_secret or ""))
        found.append(("redis_url", self.redis_url.get_secret_value() if self.redis_url else ""))
        return [(where, value) for where, value in found if value.startswith(SECRET_REFERENCE)]

    def unset_references(self) -> list[str]:
        """Return ``where reads os.environ/VAR`` for each reference to an unset or empty variable (and no file)."""
        return [
            f"{where} reads {value}"
            for where, value in self.references()
            if not (read_secret_reference(value) or "").strip()
        ]

    def require_references(self) -> None:
        """Raise ``ConfigError`` in one line when any ``os.environ/VAR`` reference names an unset variable."""
        unset = self.unset_references()
        if unset:
            which = (
                "which is not set or empty; export it" if len(unset) == 1 else "which are not set or empty; export them"
            )
            raise ConfigError(
                f"{', '.join(unset)}, {which} (or VAR_FILE naming a file that holds its value) before starting"
            )

    def model_entry(self, alias: str) -> ModelEntry | None:
        """Return the configured model called ``alias``, if any."""
        return next((entry for entry in self.models if entry.model_name == alias), None)


def _config_path(explicit: Path | None) -> tuple[Path, bool]:
    """Return the config path to read and whether it must exist (it must when named explicitly)."""
    if explicit is not None:
        return explicit, True
    from_env = os.environ.get("CLAIMS_CONFIG")
    if from_env:
        return Path(from_env), True
    return DEFAULT_CONFIG_PATH, False


def _read_config_file(path: Path, required: bool) -> dict[str, Any]:
    """Read the YAML mapping at ``path``; absent and optional reads as empty."""
    if not path.exists():
        if required:
            raise ConfigError(f"config file {path} does not exist")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ConfigError(f"config file {path} must hold a mapping of settings by name")
    return data


def get_settings(config_path: Path | None = None) -> Settings:
    """Build settings from the config file and the environment; raise ``ConfigError`` when invalid."""
    path, required = _config_path(config_path)
    data = _read_config_file(path, required)
    try:
        return Settings(**data)
    except ValidationError as exc:
        source = f"{path} with CLAIMS_* variables" if path.exists() else "CLAIMS_* variables (no config file)"
        raise ConfigError(f"{source}: {validation_summary(exc.errors(), root='config')}") from exc
    except SettingsError as exc:  # a CLAIMS_* variable holding a list or map that is not JSON
        raise ConfigError(f"{exc} (lists and maps in CLAIMS_* variables are JSON)") from exc
