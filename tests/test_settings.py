"""Tests of ``service/settings.py``: built-in defaults, the YAML file, ``CLAIMS_*`` overrides, refusals."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from service.errors import ConfigError
from service.settings import OFFLINE_MODEL, ModelEntry, Settings, get_settings, read_secret_reference

EXAMPLE_CONFIG = Path(__file__).parents[1] / "claims.example.yaml"
TWO_MODELS_YAML = """\
default_model: default
models:
  - model_name: default
    litellm_params: {model: offline/rules}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, temperature: 0}
fallbacks: {gpt: [default]}
chunk_tokens: 600
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config file with an offline ``default`` and an OpenAI ``gpt`` alias falling back to it."""
    path = tmp_path / "claims.yaml"
    path.write_text(TWO_MODELS_YAML, encoding="utf-8")
    return path


def write_config(tmp_path: Path, text: str) -> Path:
    """Write ``text`` as a config file and return its path."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_serve_the_offline_model() -> None:
    """Without file or environment, the only model is ``default`` on the offline rules, and it is the default."""
    settings = Settings()

    assert settings.default_model == "default"
    assert settings.models == [ModelEntry(model_name="default", litellm_params={"model": OFFLINE_MODEL})]
    assert settings.fallbacks == {}
    assert settings.prompt == "extract_claims@1"
    default = settings.model_entry("default")
    assert default is not None
    assert default.model == "offline/rules"
    assert settings.model_entry("gpt") is None


def test_get_settings_without_a_config_file_is_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no ``./claims.yaml`` and no ``CLAIMS_CONFIG``, the built-in defaults serve."""
    monkeypatch.chdir(tmp_path)

    assert get_settings() == Settings()


def test_config_file_is_read_from_an_explicit_path(config_file: Path) -> None:
    """An explicit path's models, fallbacks and other keys are loaded."""
    settings = get_settings(config_file)

    assert [entry.model_name for entry in settings.models] == ["default", "gpt"]
    assert settings.fallbacks == {"gpt": ["default"]}
    assert settings.chunk_tokens == 600
    assert settings.default_model == "default"


def test_config_file_is_read_from_claims_config(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_CONFIG`` names the file to read when no path is passed."""
    monkeypatch.setenv("CLAIMS_CONFIG", str(config_file))

    assert get_settings() == get_settings(config_file)
    assert get_settings().chunk_tokens == 600


def test_claims_yaml_in_the_working_directory_is_read(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``CLAIMS_CONFIG``, ``./claims.yaml`` is read when it exists."""
    monkeypatch.chdir(config_file.parent)

    assert get_settings().chunk_tokens == 600


def test_environment_overrides_the_config_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_DEFAULT_MODEL`` and ``CLAIMS_CHUNK_TOKENS`` win over the file's values."""
    monkeypatch.setenv("CLAIMS_DEFAULT_MODEL", "gpt")
    monkeypatch.setenv("CLAIMS_CHUNK_TOKENS", "400")

    settings = get_settings(config_file)

    assert (settings.default_model, settings.chunk_tokens) == ("gpt", 400)


def test_secret_references_are_kept_unresolved(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``os.environ/VAR`` value stays a reference in settings; the secret itself is not read in."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")

    settings = get_settings(config_file)

    gpt = settings.model_entry("gpt")
    assert gpt is not None
    assert gpt.litellm_params == {
        "model": "openai/gpt-4o-mini",
        "api_key": "os.environ/OPENAI_API_KEY",
        "temperature": 0,
    }
    assert "sk-test-not-a-real-key" not in settings.model_dump_json()


def test_explicit_missing_config_file_is_refused(tmp_path: Path) -> None:
    """A config path named explicitly must exist."""
    missing = tmp_path / "absent.yaml"

    with pytest.raises(ConfigError, match=f"config file {missing} does not exist"):
        get_settings(missing)


def test_missing_file_named_by_claims_config_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path in ``CLAIMS_CONFIG`` must exist too."""
    monkeypatch.setenv("CLAIMS_CONFIG", str(tmp_path / "absent.yaml"))

    with pytest.raises(ConfigError, match="does not exist"):
        get_settings()


def test_empty_config_file_is_the_defaults(tmp_path: Path) -> None:
    """An empty file sets nothing."""
    assert get_settings(write_config(tmp_path, "# nothing set\n")) == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("models: [unclosed\n", "is not valid YAML", id="invalid-yaml"),
        pytest.param("- default_model\n", "must hold a mapping of settings", id="not-a-mapping"),
        pytest.param("default_modle: default\n", "default_modle: Extra inputs are not permitted", id="unknown-key"),
        pytest.param(
            "default_model: gpt\n", "default_model 'gpt' is not in models (default)", id="unknown-default-model"
        ),
        pytest.param(
            "fallbacks: {default: [claude]}\n",
            "fallbacks for 'default' name unknown aliases: claude",
            id="unknown-fallback-alias",
        ),
        pytest.param(
            "models:\n"
            "  - {model_name: default, litellm_params: {model: offline/rules}}\n"
            "  - {model_name: default, litellm_params: {model: openai/gpt-4o-mini}}\n",
            "model_name must be unique; repeated: default",
            id="duplicate-alias",
        ),
        pytest.param(
            "models:\n  - {model_name: default, litellm_params: {temperature: 0}}\n",
            "litellm_params.model is required",
            id="model-without-provider-string",
        ),
        pytest.param("chunk_tokens: 10\n", "chunk_tokens: Input should be greater than or equal to 50", id="range"),
        pytest.param("prompt: Extract Claims\n", "prompt: String should match pattern", id="bad-prompt-ref"),
        pytest.param("1: 2\n", "must hold a mapping of settings by name", id="keys-not-names"),
        pytest.param(
            "models:\n  - {model_name: default, litellm_params: {model: offline/rules, rpm: -5}}\n",
            "litellm_params.rpm must be a positive whole number, not -5",
            id="negative-rpm",
        ),
        pytest.param(
            "models:\n  - {model_name: default, litellm_params: {model: offline/rules, tpm: lots}}\n",
            "litellm_params.tpm must be a positive whole number, not 'lots'",
            id="tpm-not-a-number",
        ),
    ],
)
def test_invalid_config_is_refused_with_a_readable_message(tmp_path: Path, text: str, message: str) -> None:
    """A bad config raises ``ConfigError`` naming the file and what is wrong with it."""
    path = write_config(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        get_settings(path)

    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_invalid_config_message_does_not_echo_secret_values(tmp_path: Path) -> None:
    """A validation error about a model does not repeat the values in its params."""
    path = write_config(
        tmp_path,
        "models:\n  - {model_name: 'bad alias', litellm_params: {model: openai/x, api_key: sk-live-123456}}\n",
    )

    with pytest.raises(ConfigError, match=r"models\.0\.model_name") as caught:
        get_settings(path)

    assert "sk-live-123456" not in str(caught.value)


def test_example_config_documents_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """``claims.example.yaml`` loads, and every key it sets has the built-in default value."""
    monkeypatch.delenv("XDG_DATA_HOME")  # the data_dir it documents is the one without it
    documented = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))

    loaded = get_settings(EXAMPLE_CONFIG)
    defaults = Settings()

    assert set(documented) == set(Settings.model_fields)
    assert {key: getattr(loaded, key) for key in documented} == {key: getattr(defaults, key) for key in documented}


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe", "cannot be read: 'utf-8' codec"), (None, "cannot be read: [Errno 21] Is a directory")],
    ids=["not-utf-8", "a-directory"],
)
def test_a_config_file_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """A config path that is a directory, or a file that is not UTF-8 text, is refused in one line."""
    path = tmp_path / "claims.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        get_settings(path)


def test_a_list_variable_that_is_not_json_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_MODELS=not json`` is refused saying that lists and maps in CLAIMS_* variables are JSON."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAIMS_MODELS", "not json")

    with pytest.raises(ConfigError, match=r"field \"models\".*lists and maps in CLAIMS_\* variables are JSON"):
        get_settings()


def test_redis_url_from_the_environment_is_kept_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_REDIS_URL`` sets the shared Redis; its password never shows in the settings' repr."""
    monkeypatch.setenv("CLAIMS_REDIS_URL", "rediss://:hunter2@redis.example.com:6380/0")
    settings = Settings()
    assert settings.shared_redis_url() == "rediss://:hunter2@redis.example.com:6380/0"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


def test_redis_url_may_name_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``redis_url: os.environ/VAR`` is read from the environment when the stores are opened."""
    monkeypatch.setenv("MY_REDIS", "redis://127.0.0.1:6379/3")
    assert Settings(redis_url="os.environ/MY_REDIS").shared_redis_url() == "redis://127.0.0.1:6379/3"
    monkeypatch.delenv("MY_REDIS")
    with pytest.raises(ConfigError, match=r"os\.environ/MY_REDIS, which holds no redis://"):
        Settings(redis_url="os.environ/MY_REDIS").shared_redis_url()


def test_a_redis_url_of_another_scheme_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """An http:// URL (say) is refused at start-up; the message names the key and the schemes, never the value."""
    config = tmp_path / "claims.yaml"
    config.write_text("redis_url: http://user:hunter2@example.com/\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        get_settings(config)
    assert "redis_url" in str(refused.value)
    assert "rediss://" in str(refused.value)
    assert "hunter2" not in str(refused.value)


WHSEC = "whsec_" + base64.b64encode(b"thirty-two bytes of test secret!").decode()
DOCUMENTED_WEBHOOK = "webhook_secret: os.environ/CLAIMS_WEBHOOK_SECRET\n"


def test_the_documented_webhook_secret_starts_with_its_variable_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``webhook_secret: os.environ/CLAIMS_WEBHOOK_SECRET`` with that variable exported is the secret, not a trap."""
    monkeypatch.setenv("CLAIMS_WEBHOOK_SECRET", WHSEC)

    settings = get_settings(write_config(tmp_path, DOCUMENTED_WEBHOOK))

    assert settings.webhook_secret == "os.environ/CLAIMS_WEBHOOK_SECRET"  # noqa: S105 -- a reference, not a secret
    assert read_secret_reference(settings.webhook_secret) == WHSEC
    assert settings.unset_references() == []
    assert WHSEC not in repr(settings)
    assert WHSEC not in settings.model_dump_json()


@pytest.mark.parametrize("variable", ["CLAIMS_WEBHOOK_SECRET", "claims_webhook_secret"])
def test_the_webhook_secret_override_alone_names_itself(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """``CLAIMS_WEBHOOK_SECRET=whsec_...`` with no config file is read as a reference to that same variable."""
    monkeypatch.setenv(variable, WHSEC)

    settings = Settings()

    assert settings.webhook_secret == f"os.environ/{variable}"
    assert settings.webhook_secret is not None
    assert read_secret_reference(settings.webhook_secret) == WHSEC


def test_the_webhook_secret_override_may_name_another_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_WEBHOOK_SECRET=os.environ/OTHER`` stays that reference."""
    monkeypatch.setenv("CLAIMS_WEBHOOK_SECRET", "os.environ/HOOK_SECRET")

    assert Settings().webhook_secret == "os.environ/HOOK_SECRET"  # noqa: S105 -- a reference, not a secret


def test_an_empty_webhook_secret_override_is_no_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLAIMS_WEBHOOK_SECRET=`` (compose's ``${VAR:-}``) sets nothing: no webhooks, or the file's reference."""
    monkeypatch.setenv("CLAIMS_WEBHOOK_SECRET", "")

    assert Settings().webhook_secret is None
    documented = get_settings(write_config(tmp_path, DOCUMENTED_WEBHOOK))
    assert documented.unset_references() == ["webhook_secret reads os.environ/CLAIMS_WEBHOOK_SECRET"]


def test_a_literal_webhook_secret_in_the_config_file_is_still_refused(tmp_path: Path) -> None:
    """Written into the file, the secret is refused, and the message says how to keep it in the environment."""
    with pytest.raises(ConfigError, match="webhook_secret must name where the secret is") as refused:
        get_settings(write_config(tmp_path, f"webhook_secret: {WHSEC}\n"))

    assert "claims webhooks secret makes one" in str(refused.value)
    assert WHSEC not in str(refused.value)


REFERENCES_YAML = """\
models:
  - model_name: default
    litellm_params: {model: offline/rules}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY, api_base: os.environ/GPT_BASE}
  - model_name: claude
    litellm_params: {model: anthropic/claude-haiku-4-5, api_key: os.environ/ANTHROPIC_API_KEY}
webhook_secret: os.environ/HOOK_SECRET
redis_url: os.environ/SHARED_REDIS
"""


def test_references_to_unset_variables_are_listed_where_they_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``os.environ/VAR`` naming an unset or empty variable (and no ``VAR_FILE``) is listed, wherever it is."""
    secret_file = tmp_path / "anthropic-key"
    secret_file.write_text("sk-ant-from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("ANTHROPIC_API_KEY_FILE", str(secret_file))
    monkeypatch.setenv("GPT_BASE", "")  # as compose's ${GPT_BASE:-} sets it: as good as unset
    monkeypatch.setenv("SHARED_REDIS_FILE", str(tmp_path / "absent"))

    settings = get_settings(write_config(tmp_path, REFERENCES_YAML))

    assert settings.unset_references() == [
        "models[gpt].litellm_params.api_key reads os.environ/OPENAI_API_KEY",
        "models[gpt].litellm_params.api_base reads os.environ/GPT_BASE",
        "webhook_secret reads os.environ/HOOK_SECRET",
        "redis_url reads os.environ/SHARED_REDIS",
    ]
    with pytest.raises(ConfigError) as refused:
        settings.require_references()
    assert str(refused.value) == (
        "models[gpt].litellm_params.api_key reads os.environ/OPENAI_API_KEY, models[gpt].litellm_params.api_base "
        "reads os.environ/GPT_BASE, webhook_secret reads os.environ/HOOK_SECRET, redis_url reads "
        "os.environ/SHARED_REDIS, which are not set or empty; export them "
        "(or VAR_FILE naming a file that holds its value) before starting"
    )


def test_references_all_set_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every variable set, nothing is listed and nothing is refused."""
    for variable in ("OPENAI_API_KEY", "GPT_BASE", "ANTHROPIC_API_KEY", "HOOK_SECRET", "SHARED_REDIS"):
        monkeypatch.setenv(variable, "redis://127.0.0.1:6379/3" if variable == "SHARED_REDIS" else "set")

    settings = get_settings(write_config(tmp_path, REFERENCES_YAML))

    assert settings.unset_references() == []
    settings.require_references()


def test_a_secret_read_from_the_environment_loses_the_whitespace_around_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret exported with a trailing newline or a leading space is the same secret (signing must agree)."""
    monkeypatch.setenv("HOOK_SECRET", f"  {WHSEC}\n")
    assert read_secret_reference("os.environ/HOOK_SECRET") == WHSEC
