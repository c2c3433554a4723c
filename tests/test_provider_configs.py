"""The documented provider examples (examples/providers/*.yaml), each run against its provider's HTTP shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import get_settings
from tests.conftest import ANTHROPIC_TEST_KEY, ANTHROPIC_URL, OPENAI_TEST_KEY, OPENAI_URL
from tests.providers import openai_error, scripted_anthropic_reply, scripted_openai_reply

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples" / "providers"
AZURE_BASE = "https://claims-test.openai.azure.com"
AZURE_URL = f"{AZURE_BASE}/openai/deployments/gpt-4o-mini/chat/completions"
LOCAL_URL = "http://127.0.0.1:8765/v1/chat/completions"
TEXT = "The audience reached 1,324,994 people. Violent crime is down 15.2%, the FBI said."

# example → (URL the provider is called at, its scripted reply, the auth header and value it must carry)
CASES: dict[str, tuple[str, Callable[[httpx.Request], httpx.Response], str, str]] = {
    "openai": (OPENAI_URL, scripted_openai_reply, "authorization", f"Bearer {OPENAI_TEST_KEY}"),
    "anthropic": (ANTHROPIC_URL, scripted_anthropic_reply, "x-api-key", ANTHROPIC_TEST_KEY),
    "azure": (AZURE_URL, scripted_openai_reply, "api-key", "azure-test-key-123456"),
    "local": (LOCAL_URL, scripted_openai_reply, "authorization", "Bearer none"),
}


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keys and endpoints the examples read from the environment, and a private cache."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_TEST_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_TEST_KEY)
    monkeypatch.setenv("AZURE_API_KEY", "azure-test-key-123456")
    monkeypatch.setenv("AZURE_API_BASE", AZURE_BASE)
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))


def post(example: str) -> httpx.Response:
    """Start the service on an example config and POST a short article."""
    with TestClient(create_app(get_settings(EXAMPLES / f"{example}.yaml"))) as client:
        return client.post("/v1/extractions", json={"article": {"text": TEXT}})


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("example", CASES)
def test_provider_example_works_by_config_alone(example: str, http_mock: respx.MockRouter) -> None:
    """Each provider example config reaches its provider with its auth and yields grounded claims."""
    url, reply, header, value = CASES[example]
    route = http_mock.post(url__startswith=url).mock(side_effect=reply)
    result = post(example).json()
    assert result["status"] == "complete"
    assert route.call_count == 1
    assert route.calls[0].request.headers[header] == value
    assert [claim["source"]["quote"] for claim in result["claims"]] == [
        "The audience reached 1,324,994 people.",
        "Violent crime is down 15.2%, the FBI said.",
    ]


@pytest.mark.usefixtures("example_env")
def test_azure_example_calls_the_deployment_with_its_api_version(http_mock: respx.MockRouter) -> None:
    """The Azure example calls the deployment URL with the configured api-version."""
    route = http_mock.post(url__startswith=AZURE_URL).mock(side_effect=scripted_openai_reply)
    post("azure")
    assert route.calls[0].request.url.params["api-version"] == "2024-10-21"


@pytest.mark.usefixtures("example_env")
def test_fallback_chain_moves_to_the_next_provider(http_mock: respx.MockRouter) -> None:
    """In the multi-provider example, a GPT outage hands the chunk to Claude, and the reply says Claude answered."""
    gpt = http_mock.post(OPENAI_URL).mock(side_effect=lambda request: openai_error(503, "overloaded", "server_error"))
    claude = http_mock.post(ANTHROPIC_URL).mock(side_effect=scripted_anthropic_reply)
    result = post("all").json()
    assert gpt.call_count == 4
    assert claude.call_count == 1
    assert result["status"] == "complete"
    assert [warning["code"] for warning in result["warnings"]] == ["fallback_used"]
    provenance = result["provenance"]
    assert (provenance["requested_model"], provenance["fallback_used"]) == ("gpt", True)
    assert provenance["models"] == [
        {"alias": "claude", "model": "anthropic/claude-haiku-4-5", "chunks": 1, "fallback": True}
    ]
    assert result["claims"]
    assert {(c["model_alias"], c["model"]) for c in result["claims"]} == {("claude", "anthropic/claude-haiku-4-5")}


@pytest.mark.usefixtures("example_env")
def test_default_model_switches_with_one_environment_variable(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CLAIMS_DEFAULT_MODEL=claude sends requests that name no model to Claude."""
    monkeypatch.setenv("CLAIMS_DEFAULT_MODEL", "claude")
    claude = http_mock.post(ANTHROPIC_URL).mock(side_effect=scripted_anthropic_reply)
    result = post("all").json()
    assert claude.call_count == 1
    assert result["provenance"]["requested_model"] == "claude"
    assert [model["alias"] for model in result["provenance"]["models"]] == ["claude"]


@pytest.mark.parametrize("example", sorted(path.stem for path in EXAMPLES.glob("*.yaml")))
def test_the_providers_page_shows_each_example_as_it_is(example: str) -> None:
    """docs/providers.md quotes every provider example verbatim, so what it shows is what the tests run."""
    page = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert (EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8") in page


def test_the_readme_shows_only_examples_as_they_are() -> None:
    """Every provider config the README shows is an example file, verbatim: the OpenAI one and the local one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = [block.split("```")[0] for block in readme.split("```yaml\n")[1:]]
    names = {path.read_text(encoding="utf-8"): path.stem for path in EXAMPLES.glob("*.yaml")}
    assert [names.get(block, block) for block in shown] == ["openai", "local"]
