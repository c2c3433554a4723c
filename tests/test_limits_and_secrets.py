"""Per-model limits (in-flight calls, requests per minute), usage and cost, and secrets that never leak."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.errors import ConfigError
from service.llm.client import ModelClient
from service.settings import ModelEntry, get_settings
from tests.conftest import OPENAI_TEST_KEY, OPENAI_URL, hosted_settings
from tests.providers import claims_for_numbers, openai_chat_completion, openai_error, scripted_openai_reply

GPT_PRICE_IN, GPT_PRICE_OUT = 0.15e-6, 0.6e-6  # gpt-4o-mini per token, from litellm's bundled map


def test_in_flight_calls_never_exceed_the_model_limit(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, sample_article: str
) -> None:
    """With max_concurrency 2, no more than two calls to the model are ever in flight at once."""
    in_flight = 0
    peak = 0

    async def slow_model(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return scripted_openai_reply(request)

    route = http_mock.post(OPENAI_URL).mock(side_effect=slow_model)
    settings = hosted_settings(tmp_path, chunk_tokens=60, max_concurrency=8)
    limited = [
        entry.model_copy(update={"max_concurrency": 2}) if entry.model_name == "gpt" else entry
        for entry in settings.models
    ]
    with TestClient(create_app(settings.model_copy(update={"models": limited}))) as client:
        result = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()
    assert result["usage"]["chunks"] >= 6
    assert route.call_count == result["usage"]["chunks"]
    assert peak == 2


async def test_requests_per_minute_hold_back_the_next_call(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """With rpm 2, a third call within the minute waits; `rpm` itself is never sent to the provider."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    entry = ModelEntry(
        model_name="gpt",
        litellm_params={"model": "openai/gpt-4o-mini", "api_key": "os.environ/OPENAI_API_KEY", "rpm": 2},
    )
    client = ModelClient(hosted_settings(tmp_path, models=[entry], fallbacks={}))
    messages = [{"role": "user", "content": "[S1] Prices rose 3% in June."}]
    for _ in range(2):
        await client.complete(entry, messages, {})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.complete(entry, messages, {}), timeout=0.5)
    assert route.call_count == 2
    assert "rpm" not in json.loads(route.calls[0].request.content)


def test_usage_sums_tokens_and_prices_them_and_cache_hits_are_free(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, sample_article: str
) -> None:
    """Tokens are summed over chunk calls and priced from litellm's bundled map; a cached re-POST costs 0."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        first = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()["usage"]
        again = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()["usage"]
    calls = route.call_count
    assert first["model_calls"] == calls
    assert first["prompt_tokens"] == 120 * calls
    assert first["completion_tokens"] == 40 * calls
    assert first["cost_usd"] == pytest.approx(calls * (120 * GPT_PRICE_IN + 40 * GPT_PRICE_OUT))
    assert again | {"chunks": 0} == {
        "chunks": 0, "model_calls": 0, "cache_hits": first["chunks"], "repairs": 0, "retries": 0, "fallbacks": 0,
        "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
    }  # fmt: skip


def test_literal_key_in_config_is_refused(tmp_path: Path) -> None:
    """A key written into the config file stops the service at start-up, pointing to os.environ/VAR."""
    config = tmp_path / "claims.yaml"
    config.write_text(
        "default_model: gpt\nmodels:\n  - model_name: gpt\n"
        f"    litellm_params: {{model: openai/gpt-4o-mini, api_key: {OPENAI_TEST_KEY}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        get_settings(config)
    assert "api_key: os.environ/YOUR_VARIABLE" in str(refused.value)
    assert OPENAI_TEST_KEY not in str(refused.value)


def test_key_can_come_from_a_secret_file(
    tmp_path: Path, http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_API_KEY unset, OPENAI_API_KEY_FILE names a file holding the key (Docker secrets)."""
    secret = tmp_path / "openai_key"
    secret.write_text(OPENAI_TEST_KEY + "\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(secret))
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        assert client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July."}}).status_code == 200
    assert route.calls[0].request.headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"


def test_missing_key_is_a_clear_problem(tmp_path: Path) -> None:
    """With no key in the environment, the problem names the variable to set and makes no call."""
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        response = client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July."}})
    assert response.status_code == 502
    assert response.json()["detail"] == (
        "model 'gpt' needs environment variable OPENAI_API_KEY (or OPENAI_API_KEY_FILE), which is not set"
    )


def test_key_never_reaches_replies_logs_or_cache(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Across success, a 401 and a 500 that echo the key, the key is in no reply, log line or cache file."""
    echoes = iter(
        [
            openai_error(401, f"Incorrect API key provided: {OPENAI_TEST_KEY}", "invalid_request_error"),
            openai_error(500, f"internal error for key {OPENAI_TEST_KEY}", "server_error"),
        ]
    )

    def model(request: httpx.Request) -> httpx.Response:
        if "Rents" in request.content.decode():
            return next(echoes, None) or openai_error(500, f"again {OPENAI_TEST_KEY}", "server_error")
        body = openai_chat_completion(json.dumps({"claims": claims_for_numbers(request)}))
        return httpx.Response(200, json=body)

    http_mock.post(OPENAI_URL).mock(side_effect=model)
    caplog.set_level(logging.DEBUG)
    settings = hosted_settings(tmp_path, retry_attempts=2)
    with TestClient(create_app(settings)) as client:
        replies = [
            client.post("/v1/extractions", json={"article": {"text": text}}).text
            for text in ("Prices rose 3% in June.", "Rents rose 7% in July.", "Rents rose 8% in July.")
        ]
        replies.append(client.get("/v1/models").text)
    assert all(OPENAI_TEST_KEY not in reply for reply in replies)
    assert '"status":"complete"' in replies[0]
    assert OPENAI_TEST_KEY not in caplog.text
    cache_bytes = b"".join(path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file())
    assert cache_bytes
    assert OPENAI_TEST_KEY.encode() not in cache_bytes


def test_per_model_timeout_reaches_the_http_request(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """``litellm_params.timeout`` of a model bounds its HTTP calls; other models keep request_timeout_s."""
    route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    settings = hosted_settings(tmp_path, request_timeout_s=60)
    timed = [
        entry.model_copy(update={"litellm_params": entry.litellm_params | {"timeout": 7}})
        if entry.model_name == "gpt"
        else entry
        for entry in settings.models
    ]
    with TestClient(create_app(settings.model_copy(update={"models": timed}))) as client:
        client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July."}})
    assert route.calls[0].request.extensions["timeout"]["read"] == 7
