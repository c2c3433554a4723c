"""Tests of ``service/llm/upstream_errors.py``: a provider's failure is translated; a bug of ours never is."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.errors import StructuredOutputRejected, UpstreamUnavailable
from service.llm.upstream_errors import our_own_bug, translate_error
from service.offline import provider
from service.settings import ModelEntry, Settings
from tests.conftest import OPENAI_URL, hosted_settings
from tests.faults import extract, service

pytestmark = pytest.mark.usefixtures("provider_keys")


def test_a_bug_in_our_own_code_is_a_500_never_retried_nor_a_503(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TypeError raised in our code while litellm calls it (the offline provider) is a 500 with a request id."""
    real_rules = provider.extract_offline_reply
    calls: list[object] = []

    def rules_with_a_bug(sentences: object, language: object = None) -> object:
        calls.append(sentences)
        return real_rules(None)  # type: ignore[arg-type] -- the bug: iterates None inside service/offline/rules.py

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        monkeypatch.setattr(provider, "extract_offline_reply", rules_with_a_bug)  # after the warm-up call
        article = {"article": {"text": "Prices rose 3% in May."}}
        response = client.post("/v1/extractions", json=article, headers={"x-request-id": "bug-1"})
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal-error"
    assert response.json()["request_id"] == response.headers["x-request-id"] == "bug-1"
    assert len(calls) == 1  # not retried as if a provider were down


def test_a_provider_reply_litellm_cannot_read_is_the_provider_s_failure(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A 200 whose body is not a chat completion fails inside litellm, not in our code: an upstream 503, retried."""
    route = http_mock.post(OPENAI_URL).mock(return_value=httpx.Response(200, json={"unexpected": True}))
    with service(hosted_settings(tmp_path, retry_attempts=2)) as client:
        response = extract(client)
    assert response.status_code == 503
    assert response.json()["type"] == "/problems/upstream-unavailable"
    assert route.call_count == 2


def test_an_error_raised_inside_litellm_is_not_ours() -> None:
    """An exception whose chain never passes through this package's code is not reported as our bug."""
    with pytest.raises(httpx.HTTPStatusError) as raised:
        httpx.Response(500, request=httpx.Request("POST", OPENAI_URL)).raise_for_status()
    assert our_own_bug(raised.value) is None


def test_a_configured_mode_that_is_refused_says_which_mode_to_set() -> None:
    """The error for a refused, configured structured-output mode is built whole, naming the mode to set."""
    import litellm.exceptions as lx

    entry = ModelEntry(model_name="local", litellm_params={"model": "openai/x"}, structured_output="json_schema")
    refused = lx.InternalServerError("response_format json_schema is not supported", "openai", "x")
    error = translate_error(refused, entry, "json_schema")
    assert isinstance(error, StructuredOutputRejected)
    assert error.detail.endswith("; set structured_output: json_object for this model")
    detected = translate_error(refused, entry.model_copy(update={"structured_output": None}), "json_schema")
    assert "set structured_output" not in detected.detail


def test_anything_else_from_the_provider_is_unavailable_and_redacted() -> None:
    """An unclassified provider error is a transient 503 whose message carries no key."""
    import litellm.exceptions as lx

    entry = ModelEntry(model_name="gpt", litellm_params={"model": "openai/gpt-4o-mini"})
    error = translate_error(
        lx.APIConnectionError("refused with key sk-abcdef0123456789", "openai", "x"), entry, "prompt"
    )
    assert isinstance(error, UpstreamUnavailable)
    assert "sk-abcdef" not in error.detail
