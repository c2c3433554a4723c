"""Structured output per provider: the mode chosen, how each is asked, and stepping down when refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.llm.client import configure_litellm
from service.llm.structured_output import auto_mode, inline_reply_schema, reply_tool
from service.settings import ModelEntry, Settings
from tests.providers import claims_for_numbers, openai_chat_completion, openai_tool_call_completion

LOCAL_URL = "http://127.0.0.1:8765/v1/chat/completions"
TEXT = "The audience reached 1,324,994 people on Monday."
# What llama.cpp's OpenAI-compatible server (llama-cpp-python 0.3.36) answered to json_schema, recorded here.
LLAMA_CPP_REJECTS_JSON_SCHEMA = {
    "error": {
        "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': "
        "\"'text' or 'json_object'\"}}\n\n  File \"/venv/lib/python3.11/site-packages/llama_cpp/server/app.py\", "
        "line 376, in create_chat_completion\n    POST /v1/chat/completions",
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


def local_settings(tmp_path: Path, structured_output: str | None = None, model: str = "openai/gpt-4o-mini") -> Settings:
    """One alias `local`: an OpenAI-compatible server on loopback, as llama.cpp or vLLM serve."""
    entry: dict[str, Any] = {
        "model_name": "local",
        "litellm_params": {"model": model, "api_base": "http://127.0.0.1:8765/v1", "api_key": "none"},
    }
    if structured_output:
        entry["structured_output"] = structured_output
    return Settings(
        cache_dir=tmp_path / "cache", retry_max_wait_s=0.01, default_model="local", models=[ModelEntry(**entry)]
    )


def extract(client: TestClient, text: str = TEXT) -> httpx.Response:
    """POST an article."""
    return client.post("/v1/extractions", json={"article": {"text": text}})


def good_reply(request: httpx.Request) -> httpx.Response:
    """A valid chat completion for the request's sentences."""
    return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": claims_for_numbers(request)})))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-4o-mini", "json_schema"),
        ("anthropic/claude-haiku-4-5", "json_schema"),
        ("azure/gpt-4o-mini", "json_schema"),
        ("openai/smollm2", "json_object"),
        ("ollama/llama3", "json_object"),
        ("offline/rules", "json_object"),
    ],
)
def test_mode_is_chosen_from_litellm_capabilities(model: str, expected: str) -> None:
    """Models litellm knows to take a JSON schema get one; unknown and local models get JSON mode."""
    entry = ModelEntry(model_name="m", litellm_params={"model": model})
    assert auto_mode(configure_litellm, entry) == expected


def test_configured_mode_wins_over_detection() -> None:
    """``structured_output`` in config overrides what litellm says."""
    entry = ModelEntry(model_name="m", litellm_params={"model": "openai/gpt-4o-mini"}, structured_output="prompt")
    assert auto_mode(configure_litellm, entry) == "prompt"


def test_reply_tool_has_no_refs() -> None:
    """The tool definition inlines the claim schema (tool modes mangle nested $refs)."""
    tool = reply_tool()
    assert "$ref" not in json.dumps(tool)
    claim = tool["function"]["parameters"]["properties"]["claims"]["items"]
    assert claim["required"] == ["sentence_ids", "quote", "text", "type", "checkworthiness"]


def test_server_refusing_json_schema_steps_down_to_json_mode(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """llama.cpp's 500 to json_schema costs one probe: the call is repeated in JSON mode, and later ones start there."""
    answers = iter([httpx.Response(500, json=LLAMA_CPP_REJECTS_JSON_SCHEMA)])
    route = http_mock.post(LOCAL_URL).mock(side_effect=lambda request: next(answers, None) or good_reply(request))
    with TestClient(create_app(local_settings(tmp_path))) as client:
        first = extract(client).json()
        second = extract(client, "Rents rose 7% in July.").json()
    formats = [json.loads(call.request.content).get("response_format", {}) for call in route.calls]
    assert [response_format["type"] for response_format in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1]["schema"] == inline_reply_schema()
    assert first["status"] == "complete"
    assert first["usage"]["retries"] == 0
    assert [warning["code"] for warning in first["warnings"]] == ["structured_output_stepped_down"]
    assert second["warnings"] == []
    assert len(first["claims"]) == len(second["claims"]) == 1


def test_a_reply_after_a_step_down_is_cached_under_the_mode_that_answered(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """The reply JSON mode gave after the probe is found again: re-POSTing the article asks the server nothing."""
    answers = iter([httpx.Response(500, json=LLAMA_CPP_REJECTS_JSON_SCHEMA)])
    route = http_mock.post(LOCAL_URL).mock(side_effect=lambda request: next(answers, None) or good_reply(request))
    with TestClient(create_app(local_settings(tmp_path))) as client:
        first = extract(client).json()
        again = extract(client).json()
    assert route.call_count == 2
    assert (again["usage"]["model_calls"], again["usage"]["cache_hits"]) == (0, 1)
    assert again["claims"] == first["claims"]


def test_configured_mode_refused_says_what_to_configure(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A mode the operator configured is not silently changed: the problem says what to set instead."""
    http_mock.post(LOCAL_URL).mock(return_value=httpx.Response(500, json=LLAMA_CPP_REJECTS_JSON_SCHEMA))
    with TestClient(create_app(local_settings(tmp_path, "json_schema"))) as client:
        response = extract(client)
    assert response.status_code == 502
    assert response.json()["type"] == "/problems/upstream-structured-output-rejected"
    assert response.json()["detail"].endswith("set structured_output: json_object for this model")


def test_tool_mode_forces_the_report_claims_call(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """In tool mode the request forces the report_claims function and its arguments are the reply."""

    def tool_reply(request: httpx.Request) -> httpx.Response:
        arguments = json.dumps({"claims": claims_for_numbers(request)})
        return httpx.Response(200, json=openai_tool_call_completion(arguments))

    route = http_mock.post(LOCAL_URL).mock(side_effect=tool_reply)
    with TestClient(create_app(local_settings(tmp_path, "tool"))) as client:
        result = extract(client).json()
    sent = json.loads(route.calls[0].request.content)
    assert sent["tools"][0]["function"]["name"] == "report_claims"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "report_claims"}}
    assert "response_format" not in sent
    assert [claim["source"]["quote"] for claim in result["claims"]] == [TEXT]


def test_prompt_mode_asks_for_nothing_but_the_prompt(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """In prompt mode the request carries neither response_format nor tools."""
    route = http_mock.post(LOCAL_URL).mock(side_effect=good_reply)
    with TestClient(create_app(local_settings(tmp_path, "prompt"))) as client:
        assert len(extract(client).json()["claims"]) == 1
    sent = json.loads(route.calls[0].request.content)
    assert "response_format" not in sent
    assert "tools" not in sent


def test_unpriced_model_reports_unknown_cost(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """A model missing from litellm's price map gives cost_usd null and a warning, never a failure."""

    def local_reply(request: httpx.Request) -> httpx.Response:
        body = openai_chat_completion(json.dumps({"claims": claims_for_numbers(request)}))
        return httpx.Response(200, json=body | {"model": "my-local-model"})

    http_mock.post(LOCAL_URL).mock(side_effect=local_reply)
    with TestClient(create_app(local_settings(tmp_path, model="openai/my-local-model"))) as client:
        result = extract(client).json()
    assert result["usage"]["cost_usd"] is None
    assert result["usage"]["prompt_tokens"] == 120
    assert [warning["code"] for warning in result["warnings"]] == ["cost_unknown"]


def test_unpriced_model_is_not_priced_twice(
    tmp_path: Path, http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When litellm already found no price for a reply, the service does not search the price map again."""
    litellm = configure_litellm()
    asked: list[Any] = []
    monkeypatch.setattr(litellm, "completion_cost", lambda **kwargs: asked.append(kwargs) or 0.0)
    http_mock.post(LOCAL_URL).mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=openai_chat_completion(json.dumps({"claims": claims_for_numbers(request)}))
            | {"model": "my-local-model"},
        )
    )
    with TestClient(create_app(local_settings(tmp_path, model="openai/my-local-model"))) as client:
        result = extract(client).json()
    assert result["usage"]["cost_usd"] is None
    assert asked == []


def test_hosted_json_mode_sends_no_schema(
    tmp_path: Path, http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON mode against a hosted provider is plain ``{"type": "json_object"}`` (no extra keys to refuse)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    entry = ModelEntry(
        model_name="gpt",
        litellm_params={"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY"},
        structured_output="json_object",
    )
    settings = Settings(cache_dir=tmp_path / "cache", default_model="gpt", models=[entry])
    route = http_mock.post("https://api.openai.com/v1/chat/completions").mock(side_effect=good_reply)
    with TestClient(create_app(settings)) as client:
        extract(client)
    assert json.loads(route.calls[0].request.content)["response_format"] == {"type": "json_object"}
