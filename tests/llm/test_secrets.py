"""Tests of ``service/llm/secrets.py``: keys referenced, read at call time, never leaked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.errors import ConfigError
from service.settings import get_settings
from tests.conftest import OPENAI_TEST_KEY, OPENAI_URL, hosted_settings
from tests.providers import claims_for_numbers, openai_chat_completion, openai_error, scripted_openai_reply

GPT_PRICE_IN, GPT_PRICE_OUT = 0.15e-6, 0.6e-6  # gpt-4o-mini per token, from litellm's bundled map


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
