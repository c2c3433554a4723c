"""Hermetic test fixtures: no provider keys, no CLAIMS_* from the shell, no unmocked HTTP, a tmp cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before anything imports litellm
os.environ["DISABLE_AIOHTTP_TRANSPORT"] = "True"

import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.factchecks.embedder_choice import lexical_by_default
from service.offline.checkworthiness import default_model_only
from service.settings import ModelEntry, Settings
from service.stores.redis_connection import redacted

DATA_DIR = Path(__file__).parent / "data"
PROVIDER_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
)
TEST_REDIS_URL = os.environ.get(
    "CLAIMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
)  # read before tests clear CLAIMS_*; the one Redis database the tests write to and flush
OWNED_BY_TESTS = "claims-tests:owned"  # marks the test database as the tests' own, to flush; kept after a run
REQUIRE_SERVICES = os.environ.get("CLAIMS_REQUIRE_SERVICES") == "1"  # .ci/run sets it: no Redis is then a failure
OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"
OPENAI_TEST_KEY = "sk-test-0123456789abcdefghij"
ANTHROPIC_TEST_KEY = "sk-ant-test-9876543210zyxwvuts"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every test without provider keys or CLAIMS_* from the shell, its default data_dir its own."""
    for variable in list(os.environ):
        if variable.startswith("CLAIMS_") or variable in PROVIDER_KEY_VARIABLES:
            monkeypatch.delenv(variable)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def http_mock() -> Iterator[respx.MockRouter]:
    """Mock all HTTP: a request no test routed fails the test instead of reaching the network."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture(autouse=True)
def default_checkworthiness(request: pytest.FixtureRequest) -> Iterator[None]:
    """Score the offline model's check-worthiness with the default model, unless a test is marked ``multilingual``.

    The test extra installs the multilingual extra, whose head embeds every sentence (about 25 ms of CPU each):
    the tests of the default model's figures and of everything else keep its fast, exact scores, and the tests
    marked ``multilingual`` (tests/multilingual/) run the head through the service.
    """
    if request.node.get_closest_marker("multilingual"):
        yield
        return
    with default_model_only():
        yield


@pytest.fixture(autouse=True)
def lexical_factcheck_matching(request: pytest.FixtureRequest) -> Iterator[None]:
    """Match fact-checks lexically where ``factcheck_embedder`` is ``auto``, unless a test is marked ``multilingual``.

    As for check-worthiness: the multilingual extra the test extra installs would embed every fact-check and
    claim (about 25 ms of CPU each); tests that say ``offline`` or name an embedding model get what they say.
    """
    if request.node.get_closest_marker("multilingual"):
        yield
        return
    with lexical_by_default():
        yield


def redis_database_of(url: str) -> int | None:
    """Return the database number ``url`` names (path ``/15`` or ``?db=15``); None when it names none."""
    from redis.connection import parse_url

    database = parse_url(url).get("db")
    return None if database is None else int(database)


def pytest_report_header() -> str:
    """Say in pytest's header which Redis database the tests flush, and how to choose another."""
    database = redis_database_of(TEST_REDIS_URL)
    where = f"{redacted(TEST_REDIS_URL)} (database {database})" if database is not None else redacted(TEST_REDIS_URL)
    return (
        f"redis: the tests that need Redis FLUSHDB {where} before and after each; set CLAIMS_TEST_REDIS_URL to move it"
    )


def refusal_to_flush(client: Any, url: str = TEST_REDIS_URL) -> str | None:
    """Say why the tests must not flush ``client``'s database (none named, or keys not theirs in it); else None."""
    if redis_database_of(url) is None:
        return f"CLAIMS_TEST_REDIS_URL={redacted(url)} names no database; name the one the tests may flush (…/15)"
    keys = int(client.dbsize())
    if keys and not client.exists(OWNED_BY_TESTS):
        return (
            f"database {redis_database_of(url)} at {redacted(url)} holds keys the tests did not write ({keys}), and "
            "they flush their database: set CLAIMS_TEST_REDIS_URL to an empty one (or empty this one yourself)"
        )
    return None


def flush_test_database(client: Any) -> None:
    """Empty the tests' own database, leaving the mark that says it is theirs."""
    client.flushdb()
    client.set(OWNED_BY_TESTS, "claim-extractor's tests flush this database (CLAIMS_TEST_REDIS_URL)")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test that needs Redis, saying why; fail it under ``CLAIMS_REQUIRE_SERVICES=1`` (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (CLAIMS_REQUIRE_SERVICES=1: these tests must run here)")
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis database of the tests' own (``CLAIMS_TEST_REDIS_URL``), flushed before and after each test.

    Where no Redis answers, or the database is named by no number or holds keys the tests did not write, the
    test is skipped with the reason (nothing is flushed), unless ``CLAIMS_REQUIRE_SERVICES=1`` (CI) makes that a
    failure.
    """
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=10)
    try:
        client.ping()
        refusal = refusal_to_flush(client)
    except (redis.RedisError, OSError) as exc:
        client.close()
        skip_or_fail(
            f"no Redis answers at {redacted(TEST_REDIS_URL)} ({type(exc).__name__}); set CLAIMS_TEST_REDIS_URL"
        )
    if refusal is not None:
        client.close()
        skip_or_fail(refusal)
    flush_test_database(client)
    yield TEST_REDIS_URL
    flush_test_database(client)
    client.close()


@pytest.fixture
def sample_article() -> str:
    """The real news article used across tests, README and examples."""
    return (DATA_DIR / "article-trump-musk-x-stream.txt").read_text(encoding="utf-8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Built-in defaults (the offline model) with a private cache and retries that do not sleep long."""
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", retry_max_wait_s=0.01, retry_total_s=5)


def hosted_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings with aliases `gpt` (OpenAI), `claude` (Anthropic) and `default` (offline); `gpt` is default."""
    values: dict[str, object] = {
        "cache_dir": tmp_path / "cache",
        "data_dir": tmp_path / "data",
        "retry_max_wait_s": 0.01,
        "retry_total_s": 5,
        "default_model": "gpt",
        "models": [
            ModelEntry(
                model_name="gpt",
                litellm_params={
                    "model": "openai/gpt-4o-mini",
                    "api_key": "os.environ/OPENAI_API_KEY",
                    "temperature": 0,
                },
            ),
            ModelEntry(
                model_name="claude",
                litellm_params={"model": "anthropic/claude-haiku-4-5", "api_key": "os.environ/ANTHROPIC_API_KEY"},
            ),
            ModelEntry(model_name="default", litellm_params={"model": "offline/rules"}),
        ],
    }
    return Settings(**(values | overrides))


@pytest.fixture
def openai_settings(tmp_path: Path) -> Settings:
    """An OpenAI alias `gpt` (key from the environment) as default, and the offline model."""
    settings = hosted_settings(tmp_path)
    return settings.model_copy(update={"models": [entry for entry in settings.models if entry.model_name != "claude"]})


@pytest.fixture
def provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test keys for OpenAI and Anthropic in the environment."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_TEST_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_TEST_KEY)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A test client of the app on the offline model."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client
